import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  type QueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportPKCS8, generateKeyPair } from "jose";
import { vi } from "vitest";
import type { Env } from "../../src/env";
import { handlePushBatch } from "../../src/push/consumer";
import type { MessagePushJob, PushJob } from "../../src/push/jobs";
import { seedMessage } from "../helpers/seed-001";
import {
  FAKE_PUSH_DOMAIN,
  type FakeRoute,
  type RecordedRequest,
  type ScriptedReply,
} from "./fake-push-service";

/** The test side of the push fake (see fake-push-service.ts): one scenario, reached through outbound fetch. */
export interface FakePush {
  baseUrl: string;
  tokenUri: string;
  hookUrl(name: string): string;
  script(...replies: ScriptedReply[]): Promise<void>;
  requests(route?: FakeRoute): Promise<RecordedRequest[]>;
}

export function fakePush(): FakePush {
  const baseUrl = `https://s${crypto.randomUUID().replaceAll("-", "")}.${FAKE_PUSH_DOMAIN}`;
  return {
    baseUrl,
    tokenUri: `${baseUrl}/token`,
    hookUrl: (name) => `${baseUrl}/hooks/${name}`,
    async script(...replies) {
      const response = await fetch(`${baseUrl}/__script`, { method: "POST", body: JSON.stringify(replies) });
      if (!response.ok) throw new Error(`scripting the push fake failed: ${response.status}`);
    },
    async requests(route) {
      const all = (await (await fetch(`${baseUrl}/__requests`)).json()) as RecordedRequest[];
      return route ? all.filter((r) => r.route === route) : all;
    },
  };
}

export interface TestServiceAccount {
  json: string;
  publicKey: CryptoKey;
  clientEmail: string;
}

/** A throwaway service-account key, generated per test file so no real key is ever committed. */
export async function testServiceAccount(tokenUri: string): Promise<TestServiceAccount> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const clientEmail = `push-${crypto.randomUUID().slice(0, 8)}@parley-test.iam.gserviceaccount.com`;
  const json = JSON.stringify({
    type: "service_account",
    project_id: "parley-test",
    private_key_id: "test-key-1",
    private_key: await exportPKCS8(privateKey),
    client_email: clientEmail,
    token_uri: tokenUri,
  });
  return { json, publicKey, clientEmail };
}

export const PROJECT_ID = "parley-test";

/** The test environment with FCM pointed at `fake`. */
export function pushEnv(fake: FakePush, account: TestServiceAccount, overrides: Partial<Env> = {}): Env {
  return {
    ...env,
    FCM_BASE_URL: fake.baseUrl,
    FCM_PROJECT_ID: PROJECT_ID,
    FCM_SERVICE_ACCOUNT: account.json,
    ...overrides,
  };
}

let sequence = 0;

/** A queue message id and job id no other test uses (storage is shared by the tests of a file). */
export const uniqueId = (prefix: string): string => `${prefix}-${Date.now()}-${++sequence}`;

/**
 * Runs the consumer over `jobs` as one batch and reports what it did with each message. The test batch drops
 * the delay passed to `retry()`, so it is captured here and reported with each retried message.
 */
export async function consume(
  jobs: { body: unknown; attempts?: number }[],
  pushEnvironment: Env,
): Promise<QueueResult & { ids: string[] }> {
  const messages = jobs.map((j) => ({
    id: uniqueId("msg"),
    timestamp: Date.now(),
    attempts: j.attempts ?? 1,
    body: j.body as PushJob,
  }));
  const batch = createMessageBatch<PushJob>("parley-push", messages);
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    vi.spyOn(message, "retry").mockImplementation((options) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    });
  }
  await handlePushBatch(batch, pushEnvironment);
  const result = await getQueueResult(batch, createExecutionContext());
  const retryMessages = result.retryMessages.map((m) => ({
    msgId: m.msgId,
    delaySeconds: delays.get(m.msgId),
  }));
  return { ...result, retryMessages, ids: messages.map((m) => m.id) };
}

export function seedPushJob(userId: string, overrides: Partial<MessagePushJob> = {}): MessagePushJob {
  const message = overrides.message ?? seedMessage();
  return {
    kind: "message",
    job_id: uniqueId("job"),
    user_id: userId,
    room: message.room,
    room_kind: "direct",
    count: 1,
    message,
    title: "abdullah_zagat",
    body: "hello!",
    ...overrides,
  };
}

/** Registers a device the way the devices endpoint stores it. */
export async function addDevice(userId: string, token: string, platform: "android" | "ios"): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT OR REPLACE INTO devices (token, user_id, platform, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(token, userId, platform, now, now)
    .run();
}

export async function deviceTokens(userId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT token FROM devices WHERE user_id = ? ORDER BY token")
    .bind(userId)
    .all<{ token: string }>();
  return results.map((r) => r.token);
}

/** The consumer logs every refusal and retry; tests read those logs through these spies instead of printing them. */
export function captureLogs() {
  return {
    info: vi.spyOn(console, "info").mockImplementation(() => undefined),
    warn: vi.spyOn(console, "warn").mockImplementation(() => undefined),
    error: vi.spyOn(console, "error").mockImplementation(() => undefined),
  };
}
