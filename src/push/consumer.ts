import { type Env, listVar } from "../env";
import {
  classifyFcmResponse,
  type Device,
  type FcmSendRequest,
  fcmRequest,
  fcmSendUrl,
  PUSH_TTL_SECONDS,
  type SendVerdict,
} from "./fcm";
import {
  forgetAccessToken,
  getAccessToken,
  parseServiceAccount,
  type ServiceAccount,
  TokenExchangeError,
} from "./google-auth";
import { type PushJob, parsePushJob, type QueuedJob } from "./jobs";
import { backoffSeconds, classifyHttpStatus, type HttpVerdict, retryDelaySeconds } from "./retry";
import {
  deleteDeadLetter,
  deleteDevice,
  devicesOf,
  finishedTargets,
  oldestDeadLetters,
  pruneDeliveries,
  recordDelivery,
  storeDeadLetter,
} from "./store";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook, webhookBody } from "./webhooks";

/** The queue the platform moves a job to once it has failed `max_retries` times (wrangler.toml). */
export const PUSH_DEAD_LETTER_QUEUE = "parley-push-dlq";

const SEND_TIMEOUT_MS = 10_000;
/** Ledger rows outlive any redelivery: Queues keep a message at most 14 days, dead letters are replayed sooner. */
const LEDGER_RETENTION_MS = 14 * 24 * 3600 * 1000;
const LEDGER_PRUNE_INTERVAL_MS = 3600 * 1000;

type MessageJob = Extract<QueuedJob, { kind: "message" }>;
type WebhookJob = Extract<QueuedJob, { kind: "webhook" }>;

/** What becomes of one queue message: acknowledged, or retried after a delay. */
type JobOutcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

const DONE: JobOutcome = { kind: "done" };

function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>): void {
  console[level]({ ...fields, event });
}

/** Enough of a device token to tell devices apart in logs without logging the credential. */
const tokenHint = (token: string): string => `…${token.slice(-8)}`;

/**
 * The push queue consumer. Each message is settled on its own (acked, or retried with a delay), so one
 * failing job never holds back or repeats the others; a job that keeps failing reaches the dead-letter queue.
 */
export async function handlePushBatch(batch: MessageBatch<PushJob>, env: Env): Promise<void> {
  // Copies of one job in one batch run one after the other, so the later ones find the ledger written.
  const chains = new Map<string, Promise<void>>();
  for (const message of batch.messages) {
    const key = jobIdOf(message.body) ?? message.id;
    chains.set(
      key,
      (chains.get(key) ?? Promise.resolve()).then(() => settle(message, env)),
    );
  }
  await Promise.all(chains.values());
  await pruneLedgerNowAndThen(env.DB, Date.now());
}

function jobIdOf(body: unknown): string | null {
  const jobId = (body as { job_id?: unknown } | null)?.job_id;
  return typeof jobId === "string" ? jobId : null;
}

async function settle(message: Message<unknown>, env: Env): Promise<void> {
  const outcome = await runJob(message, env).catch((error: unknown) => failedOutcome(message, error));
  if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
  else message.ack();
}

function failedOutcome(message: Message<unknown>, error: unknown): JobOutcome {
  const delaySeconds =
    error instanceof TokenExchangeError
      ? retryDelaySeconds(message.attempts, error.retryAfter, Date.now())
      : backoffSeconds(message.attempts);
  log("error", "push.failed", {
    message_id: message.id,
    attempts: message.attempts,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    retry_in: delaySeconds,
  });
  return { kind: "retry", delaySeconds };
}

async function runJob(message: Message<unknown>, env: Env): Promise<JobOutcome> {
  const parsed = parsePushJob(message.body);
  if (!parsed.ok) {
    log("error", "push.malformed", { message_id: message.id, error: parsed.error });
    return DONE;
  }
  const job = parsed.job;
  return job.kind === "message"
    ? deliverMessagePush(job, message.attempts, env)
    : deliverWebhook(job, message.attempts, env);
}

/** The worst delay any target asked for, so that every target is past its wait when the job comes back. */
function combine(delays: number[]): JobOutcome {
  return delays.length === 0 ? DONE : { kind: "retry", delaySeconds: Math.max(...delays) };
}

async function deliverMessagePush(job: MessageJob, attempts: number, env: Env): Promise<JobOutcome> {
  if (!env.FCM_PROJECT_ID || !env.FCM_SERVICE_ACCOUNT || !env.FCM_BASE_URL) {
    log("warn", "push.skipped", { job_id: job.job_id, reason: "FCM is not configured" });
    return DONE;
  }
  // FCM drops an undelivered notification after its TTL; one that is older still (a late dead-letter replay)
  // would only surprise the user.
  if (Date.now() - Date.parse(job.message.created_at) > PUSH_TTL_SECONDS * 1000) {
    log("warn", "push.expired", { job_id: job.job_id, created_at: job.message.created_at });
    return DONE;
  }
  const [devices, finished] = await Promise.all([
    devicesOf(env.DB, job.user_id),
    finishedTargets(env.DB, job.job_id),
  ]);
  const pending = devices.filter((d) => !finished.has(d.token));
  if (pending.length === 0) return DONE;

  const account = parseServiceAccount(env.FCM_SERVICE_ACCOUNT);
  const accessToken = await getAccessToken(account);
  const url = fcmSendUrl(env.FCM_BASE_URL, env.FCM_PROJECT_ID);
  const delays = await Promise.all(
    pending.map((device) => pushToDevice({ job, device, url, account, accessToken, attempts, env })),
  );
  return combine(delays.filter((d) => d !== null));
}

interface DeviceSend {
  job: MessageJob;
  device: Device;
  url: string;
  account: ServiceAccount;
  accessToken: string;
  attempts: number;
  env: Env;
}

/** Sends to one device and acts on the answer; the retry delay it needs, or null when it is done. */
async function pushToDevice(send: DeviceSend): Promise<number | null> {
  const { job, device, env } = send;
  const now = Date.now();
  const verdict = await postFcm(send.url, send.accessToken, fcmRequest(job, device, now));
  const fields = { job_id: job.job_id, user_id: job.user_id, device: tokenHint(device.token) };
  switch (verdict.kind) {
    case "sent":
      await recordDelivery(env.DB, job.job_id, device.token, "sent", now);
      return null;
    case "rejected":
      log("error", "push.rejected", { ...fields, reason: verdict.reason });
      await recordDelivery(env.DB, job.job_id, device.token, "rejected", now);
      return null;
    case "dead_token":
      log("info", "push.device_removed", { ...fields, reason: verdict.reason });
      await deleteDevice(env.DB, device.token);
      return null;
    case "reauthenticate":
      log("warn", "push.token_refused", fields);
      forgetAccessToken(send.account, send.accessToken);
      return backoffSeconds(send.attempts);
    case "retry": {
      const delay = retryDelaySeconds(send.attempts, verdict.retryAfter, now);
      log("warn", "push.retry", { ...fields, reason: verdict.reason, retry_in: delay });
      return delay;
    }
  }
}

async function postFcm(url: string, accessToken: string, body: FcmSendRequest): Promise<SendVerdict> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: "retry", reason: `FCM unreachable: ${String(error)}`, retryAfter: null };
  }
  const text = await response.text();
  if (response.ok) return { kind: "sent" };
  let errorBody: unknown = null;
  try {
    errorBody = JSON.parse(text);
  } catch {
    errorBody = null;
  }
  return classifyFcmResponse(response.status, errorBody, response.headers.get("retry-after"));
}

async function deliverWebhook(job: WebhookJob, attempts: number, env: Env): Promise<JobOutcome> {
  if (!env.WEBHOOK_SECRET) {
    log("warn", "webhook.skipped", { job_id: job.job_id, reason: "WEBHOOK_SECRET is not set" });
    return DONE;
  }
  // A job outlives configuration (retries, dead-letter replays): an endpoint removed since gets nothing.
  if (!listVar(env.WEBHOOK_URLS).includes(job.url)) {
    log("warn", "webhook.skipped", {
      job_id: job.job_id,
      url: job.url,
      reason: "endpoint no longer configured",
    });
    return DONE;
  }
  if ((await finishedTargets(env.DB, job.job_id)).has(job.url)) return DONE;

  const now = Date.now();
  const body = webhookBody(job);
  const verdict = await postWebhook(
    job,
    body,
    await signWebhook(env.WEBHOOK_SECRET, body, Math.floor(now / 1000)),
  );
  const fields = { job_id: job.job_id, url: job.url, webhook_event: job.event };
  switch (verdict.kind) {
    case "sent":
      await recordDelivery(env.DB, job.job_id, job.url, "sent", now);
      return DONE;
    case "retry": {
      const delaySeconds = retryDelaySeconds(attempts, verdict.retryAfter, now);
      log("warn", "webhook.retry", { ...fields, reason: verdict.reason, retry_in: delaySeconds });
      return { kind: "retry", delaySeconds };
    }
    case "rejected":
      log("error", "webhook.rejected", { ...fields, reason: verdict.reason });
      await recordDelivery(env.DB, job.job_id, job.url, "rejected", now);
      return DONE;
  }
}

async function postWebhook(job: WebhookJob, body: string, signature: string): Promise<HttpVerdict> {
  let response: Response;
  try {
    response = await fetch(job.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Parley-Webhooks/1",
        [SIGNATURE_HEADER]: signature,
        [EVENT_HEADER]: job.event,
        [DELIVERY_HEADER]: job.job_id,
      },
      body,
      // A redirect is the receiver's misconfiguration; following it would hand the event to another host.
      redirect: "manual",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: "retry", reason: `endpoint unreachable: ${String(error)}`, retryAfter: null };
  }
  const text = await response.text();
  return classifyHttpStatus(
    response.status,
    `${response.status} ${text.slice(0, 200)}`.trim(),
    response.headers.get("retry-after"),
  );
}

let lastPruneAt = 0;

/** Keeps the ledger bounded: at most one prune per isolate per interval, so batches rarely pay for it. */
async function pruneLedgerNowAndThen(db: D1Database, now: number): Promise<void> {
  if (now - lastPruneAt < LEDGER_PRUNE_INTERVAL_MS) return;
  lastPruneAt = now;
  try {
    await pruneDeliveries(db, now - LEDGER_RETENTION_MS);
  } catch (error) {
    log("warn", "push.prune_failed", { error: String(error) });
  }
}

/**
 * The dead-letter queue consumer: every job that exhausted its retries is logged and kept in
 * `push_dead_letters` until an operator replays or deletes it, so no failure ends in silence.
 */
export async function handleDeadLetterBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const now = new Date().toISOString();
  await Promise.all(
    batch.messages.map(async (message) => {
      const kind = (message.body as { kind?: unknown } | null)?.kind;
      const letter = {
        message_id: message.id,
        job_id: jobIdOf(message.body),
        kind: typeof kind === "string" ? kind : null,
        body: JSON.stringify(message.body) ?? "null",
        dead_lettered_at: now,
      };
      try {
        await storeDeadLetter(env.DB, letter);
        log("error", "push.dead_lettered", {
          message_id: message.id,
          job_id: letter.job_id,
          kind: letter.kind,
        });
        message.ack();
      } catch (error) {
        log("error", "push.dead_letter_store_failed", { message_id: message.id, error: String(error) });
        message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      }
    }),
  );
}

/**
 * Puts the oldest `limit` dead letters back on the push queue and forgets each one that was re-enqueued. The
 * ledger keeps a replayed job from reaching a target that already got it.
 */
export async function replayDeadLetters(env: Env, limit = 50): Promise<number> {
  const letters = await oldestDeadLetters(env.DB, limit);
  const replayed = await Promise.all(
    letters.map(async (letter) => {
      try {
        await env.PUSH_QUEUE.send(JSON.parse(letter.body) as PushJob);
        await deleteDeadLetter(env.DB, letter.message_id);
        return true;
      } catch (error) {
        log("error", "push.replay_failed", { message_id: letter.message_id, error: String(error) });
        return false;
      }
    }),
  );
  return replayed.filter(Boolean).length;
}
