import { runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import { FLUSH_DELAY_MS } from "../../src/rooms/core";
import { roomStub, sleep } from "../helpers/rooms";
import { tokenFor } from "../helpers/tokens";
import { type CallResult, call, errorCode, uniqueId } from "./client";

/** A user of the HTTP tests: a fresh id and a chat token for it. */
export interface Person {
  id: string;
  token: string;
}

export async function person(prefix: string): Promise<Person> {
  const id = uniqueId(prefix);
  return { id, token: await tokenFor(id) };
}

/** Creates a room over HTTP, owned by `owner`. */
export async function createRoom(owner: Person, body: Record<string, unknown> = {}) {
  const result = await call("/v1/rooms", { method: "POST", token: owner.token, body });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body as { key: string; number: number };
}

/** Sends a message over HTTP and returns it. */
export async function send(room: string, sender: Person, body: Record<string, unknown>) {
  const result = await call(`/v1/rooms/${room}/messages`, { method: "POST", token: sender.token, body });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body.message as { id: string; seq: number; text: string };
}

/**
 * Runs the room's alarm, which flushes its outbox to D1 (room list, search). The room sets the alarm just after
 * answering, so it may not be set yet; once it is due (FLUSH_DELAY_MS) the runtime has run it anyway.
 */
export async function flush(room: string): Promise<void> {
  const until = Date.now() + 2 * FLUSH_DELAY_MS;
  while (!(await runDurableObjectAlarm(roomStub(room).raw)) && Date.now() < until) await sleep(10);
}

export function expectRefusal(result: CallResult, status: number, code: string): void {
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  expect(errorCode(result)).toBe(code);
}
