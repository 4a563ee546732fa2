import type { WebhookEvent, WebhookEventName, WebhookJob } from "./jobs";

/**
 * Signed webhooks. Each POST carries `Parley-Signature: t=<unix seconds>,v1=<hex>` where the hex is
 * HMAC-SHA256(secret, `${t}.${raw body}`). Receivers recompute it over the raw bytes they got and refuse a
 * timestamp outside their replay window. Only WebCrypto is used, so `verifyWebhookSignature` runs unchanged in
 * Workers, Node 20+, Deno and browsers.
 */

export const SIGNATURE_HEADER = "Parley-Signature";
export const EVENT_HEADER = "Parley-Event";
export const DELIVERY_HEADER = "Parley-Delivery";
/** How far a signature's timestamp may be from the receiver's clock, either way. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

/** One event occurrence, before it is fanned out to the configured endpoints. */
export type WebhookOccurrence = {
  /**
   * Stable for this occurrence (e.g. `${room}:${seq}` for a durable room event), so enqueuing it twice delivers
   * it once per endpoint.
   */
  id: string;
  occurred_at: string;
} & WebhookEvent;

/** One job per configured endpoint; none when no endpoint is configured. */
export function webhookJobs(urls: readonly string[], occurrence: WebhookOccurrence): WebhookJob[] {
  const { id, occurred_at, ...event } = occurrence;
  return urls.map((url) => ({ kind: "webhook", job_id: `webhook:${id}`, url, occurred_at, ...event }));
}

/** The JSON a receiver gets. */
export function webhookBody(job: {
  job_id: string;
  event: WebhookEventName;
  occurred_at: string;
  payload: unknown;
}): string {
  return JSON.stringify({
    id: job.job_id,
    event: job.event,
    occurred_at: job.occurred_at,
    data: job.payload,
  });
}

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}

const toHex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** The `Parley-Signature` value for `body` sent at `timestamp` (unix seconds). */
export async function signWebhook(secret: string, body: string, timestamp: number): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret, "sign"),
    encoder.encode(`${timestamp}.${body}`),
  );
  return `t=${timestamp},v1=${toHex(mac)}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing" | "malformed" | "mismatch" | "outside_window" };

/**
 * Checks a `Parley-Signature` header against the raw body. Several `v1` values are accepted, so a sender may
 * sign with an old and a new secret while secrets rotate. The comparison is WebCrypto's, in constant time.
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  rawBody: string,
  options: { now?: number; windowSeconds?: number } = {},
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: "missing" };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === "v1" && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: "malformed" };
  const key = await hmacKey(secret, "verify");
  const signed = encoder.encode(`${timestamp}.${rawBody}`);
  let matched = false;
  for (const signature of signatures) {
    if (await crypto.subtle.verify("HMAC", key, fromHex(signature), signed)) matched = true;
  }
  if (!matched) return { ok: false, reason: "mismatch" };
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const window = options.windowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS;
  if (Math.abs(now - timestamp) > window) return { ok: false, reason: "outside_window" };
  return { ok: true, timestamp };
}
