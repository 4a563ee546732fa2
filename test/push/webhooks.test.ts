import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import type { WebhookJob } from "../../src/push/jobs";
import { backoffSeconds } from "../../src/push/retry";
import {
  DEFAULT_REPLAY_WINDOW_SECONDS,
  signWebhook,
  verifyWebhookSignature,
  webhookBody,
  webhookJobs,
} from "../../src/push/webhooks";
import { seedMessage } from "../helpers/seed-001";
import { captureLogs, consume, fakePush, uniqueId } from "./fake-push";

const SECRET = "whsec_test";
const T = 1_700_000_000;

let logs: ReturnType<typeof captureLogs>;

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("webhook signatures", () => {
  it("signs t.body with HMAC-SHA256 under the timestamp", async () => {
    expect(await signWebhook(SECRET, '{"hello":"world"}', T)).toBe(
      `t=${T},v1=f592bbf3951cfc94e560eecfb5d9dd4da6b0fff2e626235f8ab4b54860925d0b`,
    );
  });

  it("verifies what it signed inside the replay window", async () => {
    const header = await signWebhook(SECRET, "{}", T);
    expect(await verifyWebhookSignature(SECRET, header, "{}", { now: T * 1000 })).toEqual({
      ok: true,
      timestamp: T,
    });
    const edge = (T + DEFAULT_REPLAY_WINDOW_SECONDS) * 1000;
    expect((await verifyWebhookSignature(SECRET, header, "{}", { now: edge })).ok).toBe(true);
  });

  it("refuses a replay outside the window, either way", async () => {
    const header = await signWebhook(SECRET, "{}", T);
    const late = (T + DEFAULT_REPLAY_WINDOW_SECONDS + 1) * 1000;
    const early = (T - DEFAULT_REPLAY_WINDOW_SECONDS - 1) * 1000;
    expect(await verifyWebhookSignature(SECRET, header, "{}", { now: late })).toEqual({
      ok: false,
      reason: "outside_window",
    });
    expect((await verifyWebhookSignature(SECRET, header, "{}", { now: early })).ok).toBe(false);
    const tight = await verifyWebhookSignature(SECRET, header, "{}", {
      now: (T + 11) * 1000,
      windowSeconds: 10,
    });
    expect(tight).toEqual({ ok: false, reason: "outside_window" });
  });

  it("refuses a changed body, another secret or a moved timestamp", async () => {
    const header = await signWebhook(SECRET, '{"a":1}', T);
    const at = { now: T * 1000 };
    expect(await verifyWebhookSignature(SECRET, header, '{"a":2}', at)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(await verifyWebhookSignature("other", header, '{"a":1}', at)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    const moved = header.replace(`t=${T}`, `t=${T + 1}`);
    expect(await verifyWebhookSignature(SECRET, moved, '{"a":1}', at)).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("refuses a missing or malformed header", async () => {
    const sig = (await signWebhook(SECRET, "{}", T)).split(",")[1];
    expect(await verifyWebhookSignature(SECRET, null, "{}")).toEqual({ ok: false, reason: "missing" });
    expect(await verifyWebhookSignature(SECRET, "", "{}")).toEqual({ ok: false, reason: "missing" });
    for (const header of [
      "garbage",
      `${sig}`,
      `t=${T}`,
      `t=abc,${sig}`,
      `t=${T},v1=zz`,
      `t=${T},v0=${"a".repeat(64)}`,
    ]) {
      expect(await verifyWebhookSignature(SECRET, header, "{}", { now: T * 1000 }), header).toEqual({
        ok: false,
        reason: "malformed",
      });
    }
  });

  it("accepts any of several signatures, for secret rotation", async () => {
    const old = (await signWebhook("old-secret", "{}", T)).split(",")[1];
    const current = (await signWebhook(SECRET, "{}", T)).split(",")[1];
    const header = `t=${T},${old},${current}`;
    expect((await verifyWebhookSignature(SECRET, header, "{}", { now: T * 1000 })).ok).toBe(true);
    expect((await verifyWebhookSignature("old-secret", header, "{}", { now: T * 1000 })).ok).toBe(true);
  });
});

describe("webhook jobs", () => {
  const message = seedMessage();

  it("makes one job per configured endpoint, all with the occurrence's id", () => {
    const jobs = webhookJobs(["https://a.test/h", "https://b.test/h"], {
      id: "dm:1:2:7",
      occurred_at: "2026-01-01T00:00:00.000Z",
      event: "message.created",
      payload: { room: "dm:1:2", message },
    });
    expect(jobs).toEqual(
      ["https://a.test/h", "https://b.test/h"].map((url) => ({
        kind: "webhook",
        job_id: "webhook:dm:1:2:7",
        url,
        occurred_at: "2026-01-01T00:00:00.000Z",
        event: "message.created",
        payload: { room: "dm:1:2", message },
      })),
    );
  });

  it("makes none when no endpoint is configured", () => {
    const occurrence = {
      id: "x",
      occurred_at: "2026-01-01T00:00:00.000Z",
      event: "member.left" as const,
      payload: { room: "r", user_id: "u", reason: "left" as const },
    };
    expect(webhookJobs([], occurrence)).toEqual([]);
  });

  it("sends the event under data with its id and time", () => {
    const [job] = webhookJobs(["https://a.test/h"], {
      id: "r:3",
      occurred_at: "2026-01-01T00:00:00.000Z",
      event: "member.joined",
      payload: {
        room: "r",
        member: { user_id: "u", role: "member", joined_at: "2026-01-01T00:00:00.000Z" },
        profile: { id: "u", name: "U", avatar: null },
      },
    });
    expect(JSON.parse(webhookBody(job as WebhookJob))).toEqual({
      id: "webhook:r:3",
      event: "member.joined",
      occurred_at: "2026-01-01T00:00:00.000Z",
      data: {
        room: "r",
        member: { user_id: "u", role: "member", joined_at: "2026-01-01T00:00:00.000Z" },
        profile: { id: "u", name: "U", avatar: null },
      },
    });
  });
});

describe("webhook delivery", () => {
  function setup(hooks = ["main"]) {
    const fake = fakePush();
    const urls = hooks.map((h) => fake.hookUrl(h));
    const hookEnv: Env = { ...env, WEBHOOK_URLS: urls.join(", "), WEBHOOK_SECRET: SECRET };
    const job = (url: string): WebhookJob => ({
      kind: "webhook",
      job_id: `webhook:${uniqueId("occ")}`,
      url,
      occurred_at: "2026-01-01T00:00:00.000Z",
      event: "message.deleted",
      payload: { room: "dm:1:2", message: seedMessage() },
    });
    return { fake, urls, hookEnv, job };
  }

  it("POSTs the signed event and the receiver can verify it", async () => {
    const { fake, urls, hookEnv, job } = setup();
    const url = urls[0] ?? "";
    const sent = job(url);
    const result = await consume([{ body: sent }], hookEnv);
    expect(result.explicitAcks).toEqual(result.ids);
    const [request] = await fake.requests("webhook");
    expect(request?.method).toBe("POST");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["parley-event"]).toBe("message.deleted");
    expect(request?.headers["parley-delivery"]).toBe(sent.job_id);
    expect(request?.body).toBe(webhookBody(sent));
    const check = await verifyWebhookSignature(
      SECRET,
      request?.headers["parley-signature"],
      request?.body ?? "",
    );
    expect(check.ok).toBe(true);
  });

  it("never delivers a redelivered job twice", async () => {
    const { fake, urls, hookEnv, job } = setup();
    const sent = job(urls[0] ?? "");
    await consume([{ body: sent }], hookEnv);
    const again = await consume([{ body: sent, attempts: 2 }], hookEnv);
    expect(again.explicitAcks).toEqual(again.ids);
    expect(await fake.requests("webhook")).toHaveLength(1);
  });

  it("retries 5xx with backoff and 429 with the receiver's Retry-After", async () => {
    const { fake, urls, hookEnv, job } = setup();
    await fake.script(
      { route: "webhook", status: 502 },
      { route: "webhook", status: 429, headers: { "retry-after": "90" } },
    );
    const sent = job(urls[0] ?? "");
    const first = await consume([{ body: sent, attempts: 3 }], hookEnv);
    expect(first.retryMessages).toEqual([{ msgId: first.ids[0], delaySeconds: backoffSeconds(3) }]);
    const second = await consume([{ body: sent, attempts: 4 }], hookEnv);
    expect(second.retryMessages).toEqual([{ msgId: second.ids[0], delaySeconds: 90 }]);
    const third = await consume([{ body: sent, attempts: 5 }], hookEnv);
    expect(third.explicitAcks).toEqual(third.ids);
    expect(await fake.requests("webhook")).toHaveLength(3);
  });

  it("gives up on other 4xx and redirects without retrying, and does not resend them", async () => {
    const { fake, urls, hookEnv, job } = setup(["gone", "moved"]);
    await fake.script({ route: "webhook", status: 410 }, { route: "webhook", status: 302 });
    const gone = job(urls[0] ?? "");
    const moved = job(urls[1] ?? "");
    const result = await consume([{ body: gone }, { body: moved }], hookEnv);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    await consume([{ body: gone }, { body: moved }], hookEnv);
    expect(await fake.requests("webhook")).toHaveLength(2);
  });

  it("skips, acked and logged, when no secret is set", async () => {
    const { fake, urls, hookEnv, job } = setup();
    const result = await consume([{ body: job(urls[0] ?? "") }], { ...hookEnv, WEBHOOK_SECRET: undefined });
    expect(result.explicitAcks).toEqual(result.ids);
    expect(logs.warn).toHaveBeenCalledWith(expect.objectContaining({ event: "webhook.skipped" }));
    expect(await fake.requests()).toEqual([]);
  });

  it("skips an endpoint that is no longer configured", async () => {
    const { fake, hookEnv, job } = setup();
    const result = await consume([{ body: job(fake.hookUrl("removed")) }], hookEnv);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await fake.requests()).toEqual([]);
  });
});
