import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { handleDeadLetterBatch, replayDeadLetters } from "../../src/push/consumer";
import { messagePushJob, type PushJob } from "../../src/push/jobs";
import { backoffSeconds } from "../../src/push/retry";
import { oldestDeadLetters, pruneDeliveries, recordDelivery } from "../../src/push/store";
import { SEED_PACKET, seedMessage } from "../helpers/seed-001";
import {
  addDevice,
  captureLogs,
  consume,
  deviceTokens,
  fakePush,
  PROJECT_ID,
  pushEnv,
  seedPushJob,
  type TestServiceAccount,
  testServiceAccount,
  uniqueId,
} from "./fake-push";

let account: TestServiceAccount;

beforeAll(async () => {
  account = await testServiceAccount("https://replaced.push.test/token");
});

let logs: ReturnType<typeof captureLogs>;

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh fake FCM with its own token endpoint, and the env pointing at both. */
function setup(overrides: Partial<Env> = {}) {
  const fake = fakePush();
  const keyed = {
    ...account,
    json: JSON.stringify({ ...JSON.parse(account.json), token_uri: fake.tokenUri }),
  };
  return { fake, pushEnvironment: pushEnv(fake, keyed, overrides) };
}

/** A user with the given devices, under ids no other test uses. */
async function userWith(...platforms: ("android" | "ios")[]) {
  const userId = uniqueId("user");
  const tokens = platforms.map((p, i) => `${p}-${userId}-${i}`);
  for (const [i, token] of tokens.entries()) await addDevice(userId, token, platforms[i] ?? "android");
  return { userId, tokens };
}

/** The seed's push, for a message written just now (older than the push TTL, it would be dropped). */
const pushJob = (userId: string) =>
  seedPushJob(userId, { message: seedMessage({ created_at: new Date().toISOString() }) });

const fcmBodies = async (fake: ReturnType<typeof fakePush>) =>
  (await fake.requests("fcm")).map((r) => JSON.parse(r.body) as { message: Record<string, unknown> });

const unregistered = {
  error: {
    code: 404,
    status: "NOT_FOUND",
    message: "Requested entity was not found.",
    details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" }],
  },
};

describe("message pushes", () => {
  it("sends one well-formed FCM request per device, then acks", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("android", "ios");
    const job = pushJob(userId);
    const result = await consume([{ body: job }], pushEnvironment);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(result.retryMessages).toEqual([]);

    const requests = await fake.requests("fcm");
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.path).toBe(`/v1/projects/${PROJECT_ID}/messages:send`);
      expect(request.headers.authorization).toMatch(/^Bearer access-/);
      expect(request.headers["content-type"]).toBe("application/json");
    }
    const xdata = { ...SEED_PACKET, ts: job.message.created_at };
    const byToken = new Map((await fcmBodies(fake)).map((b) => [b.message.token, b.message]));
    const android = byToken.get(tokens[0])?.android as { data: Record<string, string> };
    expect(android.data).toEqual({
      xtype: "NEW_MESSAGE",
      xdata: JSON.stringify(xdata),
      xto: JSON.stringify([userId]),
    });
    expect(byToken.get(tokens[0])?.android).toMatchObject({ priority: "HIGH", ttl: "3600s" });
    expect(byToken.get(tokens[0])?.apns).toBeUndefined();
    expect(byToken.get(tokens[1])?.apns).toMatchObject({
      payload: {
        aps: { alert: { title: "abdullah_zagat", body: "hello!" }, sound: "default", "mutable-content": 1 },
      },
    });
    expect(byToken.get(tokens[1])?.android).toBeUndefined();
  });

  it("fetches one access token for many sends across batches", async () => {
    const { fake, pushEnvironment } = setup();
    const users = [await userWith("android", "ios"), await userWith("android"), await userWith("ios", "ios")];
    await consume(
      users.map((u) => ({ body: pushJob(u.userId) })),
      pushEnvironment,
    );
    await consume([{ body: pushJob(users[0]?.userId ?? "") }], pushEnvironment);
    expect(await fake.requests("fcm")).toHaveLength(7);
    expect(await fake.requests("token")).toHaveLength(1);
  });

  it("drops a push older than its TTL, acked and logged", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000).toISOString();
    const stale = seedPushJob(userId, { message: seedMessage({ created_at: hoursAgo }) });
    const result = await consume([{ body: stale }], pushEnvironment);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(logs.warn).toHaveBeenCalledWith(
      expect.objectContaining({ event: "push.expired", job_id: stale.job_id }),
    );
    expect(await fake.requests()).toEqual([]);
  });

  it("acks a user with no devices without calling FCM", async () => {
    const { fake, pushEnvironment } = setup();
    const result = await consume([{ body: pushJob(uniqueId("nobody")) }], pushEnvironment);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await fake.requests()).toEqual([]);
  });

  it("acks and logs message jobs as skipped when FCM is not configured", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    for (const missing of [{ FCM_PROJECT_ID: "" }, { FCM_SERVICE_ACCOUNT: undefined }]) {
      const result = await consume([{ body: pushJob(userId) }], { ...pushEnvironment, ...missing });
      expect(result.explicitAcks).toEqual(result.ids);
    }
    expect(logs.warn).toHaveBeenCalledWith(expect.objectContaining({ event: "push.skipped" }));
    expect(await fake.requests()).toEqual([]);
  });

  it("acks and logs a malformed job without retrying it", async () => {
    const { fake, pushEnvironment } = setup();
    const result = await consume(
      [{ body: { kind: "message", job_id: "x" } }, { body: "junk" }],
      pushEnvironment,
    );
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    expect(logs.error).toHaveBeenCalledWith(expect.objectContaining({ event: "push.malformed" }));
    expect(await fake.requests()).toEqual([]);
  });
});

describe("retries", () => {
  it("retries a 429 after the Retry-After FCM asked for", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    await fake.script({ route: "fcm", status: 429, headers: { "retry-after": "120" }, body: { error: {} } });
    const result = await consume([{ body: pushJob(userId) }], pushEnvironment);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: result.ids[0], delaySeconds: 120 }]);
  });

  it("retries a 5xx with exponential backoff by attempt", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("ios");
    await fake.script({ route: "fcm", status: 500 }, { route: "fcm", status: 503 });
    const first = await consume([{ body: pushJob(userId), attempts: 1 }], pushEnvironment);
    const fourth = await consume([{ body: pushJob(userId), attempts: 4 }], pushEnvironment);
    expect(first.retryMessages).toEqual([{ msgId: first.ids[0], delaySeconds: backoffSeconds(1) }]);
    expect(fourth.retryMessages).toEqual([{ msgId: fourth.ids[0], delaySeconds: backoffSeconds(4) }]);
    expect(backoffSeconds(4)).toBe(8 * backoffSeconds(1));
  });

  it("waits for the slowest device when several must be retried", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("android", "ios");
    await fake.script(
      { route: "fcm", device_token: tokens[0], status: 429, headers: { "retry-after": "40" } },
      { route: "fcm", device_token: tokens[1], status: 429, headers: { "retry-after": "300" } },
    );
    const result = await consume([{ body: pushJob(userId) }], pushEnvironment);
    expect(result.retryMessages).toEqual([{ msgId: result.ids[0], delaySeconds: 300 }]);
  });

  it("retries when the token endpoint fails, honouring its Retry-After", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    await fake.script({ route: "token", status: 503, headers: { "retry-after": "75" } });
    const result = await consume([{ body: pushJob(userId) }], pushEnvironment);
    expect(result.retryMessages).toEqual([{ msgId: result.ids[0], delaySeconds: 75 }]);
    expect(await fake.requests("fcm")).toEqual([]);
  });

  it("retries when the service account is unusable, so the jobs end in the dead-letter queue", async () => {
    const { fake, pushEnvironment } = setup({ FCM_SERVICE_ACCOUNT: "{not json" });
    const { userId } = await userWith("android");
    const result = await consume([{ body: pushJob(userId), attempts: 2 }], pushEnvironment);
    expect(result.retryMessages).toEqual([{ msgId: result.ids[0], delaySeconds: backoffSeconds(2) }]);
    expect(logs.error).toHaveBeenCalledWith(expect.objectContaining({ event: "push.failed" }));
    expect(await fake.requests()).toEqual([]);
  });

  it("drops a refused access token and fetches a new one on the retry", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    await fake.script({
      route: "fcm",
      status: 401,
      body: { error: { code: 401, status: "UNAUTHENTICATED" } },
    });
    const job = pushJob(userId);
    const first = await consume([{ body: job }], pushEnvironment);
    expect(first.retryMessages).toEqual([{ msgId: first.ids[0], delaySeconds: backoffSeconds(1) }]);
    const second = await consume([{ body: job, attempts: 2 }], pushEnvironment);
    expect(second.explicitAcks).toEqual(second.ids);
    const auths = (await fake.requests("fcm")).map((r) => r.headers.authorization);
    expect(auths).toHaveLength(2);
    expect(auths[0]).not.toBe(auths[1]);
    expect(await fake.requests("token")).toHaveLength(2);
  });

  it("keeps retrying on the last attempt, so the platform moves the job to the dead-letter queue", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    await fake.script({ route: "fcm", status: 500 });
    const result = await consume([{ body: pushJob(userId), attempts: 7 }], pushEnvironment);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(result.ids);
  });
});

describe("dead tokens and refusals", () => {
  it("deletes the device FCM reports UNREGISTERED, without a retry", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("android", "ios");
    await fake.script({ route: "fcm", device_token: tokens[0], status: 404, body: unregistered });
    const result = await consume([{ body: pushJob(userId) }], pushEnvironment);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await deviceTokens(userId)).toEqual([tokens[1]]);
  });

  it("deletes the device when INVALID_ARGUMENT blames its token", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("ios");
    await fake.script({
      route: "fcm",
      status: 400,
      body: {
        error: {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: "The registration token is not a valid FCM registration token",
          details: [
            { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "INVALID_ARGUMENT" },
            {
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [{ field: "message.token" }],
            },
          ],
        },
      },
    });
    const result = await consume([{ body: pushJob(userId) }], pushEnvironment);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await deviceTokens(userId)).toEqual([]);
    expect(tokens).toHaveLength(1);
  });

  it("acks other 4xx without a retry, keeps the device, and does not resend on redelivery", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("android");
    await fake.script(
      { route: "fcm", status: 400, body: { error: { status: "INVALID_ARGUMENT", message: "bad ttl" } } },
      { route: "fcm", status: 403, body: { error: { status: "PERMISSION_DENIED" } } },
    );
    const job = pushJob(userId);
    const other = pushJob(userId);
    const result = await consume([{ body: job }, { body: other }], pushEnvironment);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    expect(await deviceTokens(userId)).toEqual(tokens);
    expect(logs.error).toHaveBeenCalledWith(expect.objectContaining({ event: "push.rejected" }));
    await consume(
      [
        { body: job, attempts: 2 },
        { body: other, attempts: 2 },
      ],
      pushEnvironment,
    );
    expect(await fake.requests("fcm")).toHaveLength(2);
  });
});

describe("redelivery", () => {
  it("never sends a redelivered job twice to the same device", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android", "ios", "android");
    const job = pushJob(userId);
    await consume([{ body: job }], pushEnvironment);
    const again = await consume(
      [
        { body: job, attempts: 2 },
        { body: job, attempts: 1 },
      ],
      pushEnvironment,
    );
    expect(again.explicitAcks.sort()).toEqual([...again.ids].sort());
    expect(await fake.requests("fcm")).toHaveLength(3);
  });

  it("resends only to the devices that failed", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId, tokens } = await userWith("android", "ios", "ios");
    await fake.script({ route: "fcm", device_token: tokens[1], status: 503 });
    const job = pushJob(userId);
    const first = await consume([{ body: job }], pushEnvironment);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual(first.ids);
    const second = await consume([{ body: job, attempts: 2 }], pushEnvironment);
    expect(second.explicitAcks).toEqual(second.ids);
    const sentTo = (await fcmBodies(fake)).map((b) => b.message.token);
    expect(sentTo.sort()).toEqual([tokens[0], tokens[1], tokens[1], tokens[2]].sort());
  });

  it("sends a push enqueued twice once, even within one batch", async () => {
    const { fake, pushEnvironment } = setup();
    const { userId } = await userWith("android");
    const message = seedMessage({ created_at: new Date().toISOString() });
    const intent = { room: message.room, room_kind: "direct" as const, count: 1, message };
    const twice = await consume(
      [{ body: messagePushJob(userId, intent) }, { body: messagePushJob(userId, intent) }],
      pushEnvironment,
    );
    await consume([{ body: messagePushJob(userId, intent) }], pushEnvironment);
    expect(twice.explicitAcks.sort()).toEqual([...twice.ids].sort());
    expect(await fake.requests("fcm")).toHaveLength(1);
  });
});

describe("the delivery ledger", () => {
  it("prunes rows older than the cutoff and keeps newer ones", async () => {
    const old = uniqueId("old");
    const recent = uniqueId("recent");
    const now = Date.parse("2026-06-01T00:00:00Z");
    await recordDelivery(env.DB, old, "t", "sent", now - 30 * 24 * 3600 * 1000);
    await recordDelivery(env.DB, recent, "t", "sent", now);
    expect(await pruneDeliveries(env.DB, now - 24 * 3600 * 1000)).toBeGreaterThanOrEqual(1);
    const { results } = await env.DB.prepare("SELECT job_id FROM push_deliveries WHERE job_id IN (?, ?)")
      .bind(old, recent)
      .all<{ job_id: string }>();
    expect(results.map((r) => r.job_id)).toEqual([recent]);
  });
});

describe("dead letters", () => {
  it("keeps every dead-lettered job for inspection, then replays it onto the push queue", async () => {
    const job = pushJob(uniqueId("dl"));
    const ids = [uniqueId("dlq"), uniqueId("dlq")];
    const batch = createMessageBatch<unknown>("parley-push-dlq", [
      { id: ids[0] ?? "", timestamp: Date.now(), attempts: 1, body: job },
      { id: ids[1] ?? "", timestamp: Date.now(), attempts: 1, body: "not a job" },
    ]);
    await handleDeadLetterBatch(batch, env);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(logs.error).toHaveBeenCalledWith(
      expect.objectContaining({ event: "push.dead_lettered", job_id: job.job_id }),
    );

    const stored = await oldestDeadLetters(env.DB, 100);
    const mine = stored.filter((l) => ids.includes(l.message_id));
    expect(mine.map((l) => [l.job_id, l.kind])).toEqual(
      expect.arrayContaining([
        [job.job_id, "message"],
        [null, null],
      ]),
    );
    expect(JSON.parse(mine.find((l) => l.job_id === job.job_id)?.body ?? "null")).toEqual(job);

    const sent: PushJob[] = [];
    const queue = {
      send: async (body: PushJob) => {
        sent.push(body);
      },
    } as unknown as Queue<PushJob>;
    const replayed = await replayDeadLetters({ ...env, PUSH_QUEUE: queue }, 100);
    expect(replayed).toBe(stored.length);
    expect(sent).toEqual(expect.arrayContaining([job, "not a job"]));
    expect(await oldestDeadLetters(env.DB, 100)).toEqual([]);
  });

  it("keeps a dead letter whose replay failed", async () => {
    const id = uniqueId("dlq");
    const batch = createMessageBatch("parley-push-dlq", [
      { id, timestamp: Date.now(), attempts: 1, body: pushJob(uniqueId("dl")) },
    ]);
    await handleDeadLetterBatch(batch, env);
    const failing = {
      send: async () => {
        throw new Error("queue unavailable");
      },
    } as unknown as Queue<PushJob>;
    expect(await replayDeadLetters({ ...env, PUSH_QUEUE: failing }, 100)).toBe(0);
    expect((await oldestDeadLetters(env.DB, 100)).map((l) => l.message_id)).toContain(id);
  });
});
