/** The EJSON and Meteor.Error shapes DDP puts on the wire, and the bounds on what a client may send. */

/** EJSON's date: milliseconds since the epoch. */
export interface EjsonDate {
  $date: number;
}

export const ejsonDate = (iso: string): EjsonDate => ({ $date: Date.parse(iso) });

/** The ISO time an EJSON date names, or null when `value` is not one (or not a representable time). */
export function isoFromEjson(value: unknown): string | null {
  if (typeof value !== "object" || value === null || !("$date" in value)) return null;
  const ms = value.$date;
  if (typeof ms !== "number" || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Deeper JSON is refused before any field is read. */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests objects and arrays at most `limit` levels deep (iteratively: no stack to exhaust). */
export function withinDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    if (depth > limit) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * A Meteor.Error as ddp-server serializes it: `message` is `reason [error]`, or `[error]` without a reason
 * (Meteor's own constructor), and `details` only when given.
 */
export interface MeteorError {
  isClientSafe: true;
  error: string | number;
  reason?: string;
  details?: Record<string, unknown>;
  message: string;
  errorType: "Meteor.Error";
}

export function meteorError(
  error: string | number,
  reason?: string,
  details?: Record<string, unknown>,
): MeteorError {
  return {
    isClientSafe: true,
    error,
    ...(reason === undefined ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    message: reason === undefined ? `[${error}]` : `${reason} [${error}]`,
    errorType: "Meteor.Error",
  };
}

/** Meteor's `check()` failure, which Rocket.Chat methods answer to parameters of the wrong shape. */
export const matchFailed = (): MeteorError => meteorError(400, "Match failed");

/** What Meteor's rate limiter answers, with the wait in the reason and in `details.timeToReset` (ms). */
export function tooManyRequests(retryAfterSeconds: number): MeteorError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return meteorError(
    "too-many-requests",
    `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying again.`,
    { timeToReset: seconds * 1000 },
  );
}

/** Rocket.Chat's answer to a method that needs a logged-in user. */
export const invalidUser = (method: string): MeteorError =>
  meteorError("error-invalid-user", "Invalid user", { method });
