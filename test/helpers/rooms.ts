import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { RoomKind } from "../../src/domain/model";

export const profile = (id: string) => ({ id, name: `User ${id}`, avatar: null });

export const roomStub = (key: string) => env.ROOMS.get(env.ROOMS.idFromName(key));

/** Creates a room through its Durable Object (the HTTP API's path), owned by `owner`, with plain `members`. */
export async function makeRoom(key: string, owner: string, members: string[] = [], kind: RoomKind = "group") {
  const stub = roomStub(key);
  const created = await stub.create({
    key,
    kind,
    creator: profile(owner),
    members: members.map((m) => ({ profile: profile(m), role: "member" as const })),
  });
  expect(created.ok).toBe(true);
  return stub;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(25);
  }
}

/**
 * The value of a successful outcome (failing the test otherwise). RPC stubs type results through
 * `Rpc.Serializable`, which erases fields typed `unknown`, so the caller names the value's type.
 */
export function successValue<T>(outcome: { ok: boolean }): T {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  return (outcome as unknown as { value: T }).value;
}
