/** The longest delay Cloudflare Queues accepts for `message.retry({ delaySeconds })`. */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
/** The first retry waits this long; each further attempt doubles it. */
export const BASE_RETRY_DELAY_SECONDS = 30;
/** Backoff alone never waits longer than this; a `Retry-After` from the server may. */
export const MAX_BACKOFF_SECONDS = 3600;

/** Exponential backoff for the retry after delivery attempt `attempts` (1 for the first delivery). */
export function backoffSeconds(attempts: number): number {
  const exponent = Math.max(0, Math.min(attempts, 30) - 1);
  return Math.min(MAX_BACKOFF_SECONDS, BASE_RETRY_DELAY_SECONDS * 2 ** exponent);
}

/** The wait a `Retry-After` header asks for, in whole seconds: delta-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  const value = header?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  // An HTTP date names its day and month; this keeps a bare "-5" from parsing as the year -5.
  if (!/[a-z]{3}/i.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The delay for the next retry: what the server asked for when it did, else backoff; within Queues' bounds. */
export function retryDelaySeconds(attempts: number, retryAfter: string | null, now: number): number {
  const asked = retryAfterSeconds(retryAfter, now);
  const delay = asked ?? backoffSeconds(attempts);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(1, delay));
}

/** What one HTTP answer means for a delivery. */
export type HttpVerdict =
  | { kind: "sent" }
  | { kind: "retry"; reason: string; retryAfter: string | null }
  /** Refused for good: retrying would get the same answer. */
  | { kind: "rejected"; reason: string };

/** 2xx delivered; 429 and 5xx are worth another try; any other answer will not change by retrying. */
export function classifyHttpStatus(status: number, reason: string, retryAfter: string | null): HttpVerdict {
  if (status >= 200 && status < 300) return { kind: "sent" };
  if (status === 429 || status >= 500) return { kind: "retry", reason, retryAfter };
  return { kind: "rejected", reason };
}
