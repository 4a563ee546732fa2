import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { CommandOutcome, HistoryQuery } from "../../src/domain/commands";
import type { Outcome } from "../../src/domain/errors";
import type { Ack, Message, MessageDraft, Profile, RoomKind } from "../../src/domain/model";
import { roomStub as typedRoomStub, userStub as typedUserStub } from "../../src/rooms/stubs";

export const profile = (id: string) => ({ id, name: `User ${id}`, avatar: null });

function resultOf<T>(outcome: CommandOutcome, pick: (value: never) => T): Outcome<T> {
  return outcome.ok ? { ok: true, value: pick(outcome.value as never) } : outcome;
}

/**
 * A room's stub, plus shorthands that run its chat commands through the one command surface (`run`) and answer
 * with the part of the result a test looks at.
 */
export function roomStub(key: string) {
  const stub = typedRoomStub(env, key);
  const actor = (id: string): Profile => ({ id, name: null, avatar: null });
  const shorthands = {
    post: async (sender: Profile, draft: MessageDraft) =>
      resultOf(await stub.run(sender, { kind: "send", room: key, draft }), (v: { ack: Ack }) => v.ack),
    markRead: async (userId: string, seq: number) =>
      resultOf(await stub.run(actor(userId), { kind: "read", room: key, seq }), (v: { seq: number }) => ({
        seq: v.seq,
      })),
    history: async (userId: string, query: HistoryQuery) =>
      resultOf(
        await stub.run(actor(userId), { kind: "history", room: key, query }),
        (v: { messages: Message[] }) => v.messages,
      ),
    setTyping: async (user: Profile, typing: boolean) =>
      stub.run(user, { kind: "typing", room: key, typing }),
  };
  return new Proxy(stub, {
    get: (target, prop) => {
      if (prop === "raw") return target;
      return prop in shorthands ? shorthands[prop as keyof typeof shorthands] : Reflect.get(target, prop);
    },
  }) as typeof stub & typeof shorthands & { raw: typeof stub };
}

export const userStub = (id: string) => typedUserStub(env, id);

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
