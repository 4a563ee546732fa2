import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { devToken } from "./client";
import { freePort, freshState, startWranglerDev } from "./wrangler-dev";

/**
 * Chaos against a `wrangler dev` of its own (so restarting it disturbs no other test): senders on three paths
 * (native room socket, native user socket, STOMP), each retrying with its idempotency key until acked, and
 * subscribers that resume with `since`, while the run drops client sockets at random and restarts the server
 * (SIGTERM, then SIGKILL) with its local state persisting. Afterwards: every acked message is in history exactly
 * once, seq is gap-free, every subscriber's view is gap-free and duplicate-free, and nothing is stored that was
 * not acked to its sender. `npm run chaos` runs 10,000 messages; the suite runs a bounded few hundred.
 */
const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? 240);
const RESTARTS = Number(process.env.CHAOS_RESTARTS ?? 1);

let port = 0;
let server: ChildProcess | null = null;
let persist = "";
const base = () => `http://127.0.0.1:${port}`;
const ws = (path: string) => `ws://127.0.0.1:${port}${path}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<void> {
  ({ proc: server } = await startWranglerDev(port, persist, { RATE_PER_SECOND: "1000", RATE_BURST: "1000" }));
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  const proc = server;
  if (!proc) return;
  server = null;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill(signal);
  await Promise.race([exited, sleep(10_000)]);
  // wrangler dev's runtime is a child of its own; make sure the port is free before restarting.
  await sleep(500);
}

async function call(method: string, path: string, token: string, body?: unknown) {
  for (;;) {
    try {
      const res = await fetch(`${base()}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    } catch {
      await sleep(200);
    }
  }
}

/** A socket that reconnects whenever it drops, sending `hello` on each (re)open. */
class Resilient {
  socket: WebSocket | null = null;
  closedByUs = false;
  constructor(
    private readonly url: () => Promise<string>,
    private readonly hello: (socket: WebSocket) => void,
    private readonly onFrame: (data: string) => void,
  ) {}

  async open(): Promise<void> {
    while (!this.closedByUs) {
      const socket = new WebSocket(await this.url());
      const opened = await new Promise<boolean>((resolve) => {
        socket.once("open", () => resolve(true));
        socket.once("error", () => resolve(false));
        socket.once("close", () => resolve(false));
      });
      if (!opened) {
        await sleep(200);
        continue;
      }
      this.socket = socket;
      socket.on("message", (data) => this.onFrame(String(data)));
      socket.on("close", () => {
        if (this.socket === socket) this.socket = null;
        if (!this.closedByUs) void sleep(100).then(() => this.open());
      });
      this.hello(socket);
      return;
    }
  }

  send(frame: string): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(frame);
    return true;
  }

  drop(): void {
    this.socket?.terminate();
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.close();
  }
}

interface Sender {
  name: string;
  acked: Map<string, number>;
  pending: Set<string>;
  connection: Resilient;
  send(key: string): void;
}

function nativeSender(name: string, path: () => Promise<string>, room: string): Sender {
  const acked = new Map<string, number>();
  const pending = new Set<string>();
  const frame = (key: string) => JSON.stringify({ type: "send", room, temp_id: key, text: key });
  const connection = new Resilient(
    path,
    (socket) => {
      for (const key of pending) socket.send(frame(key));
    },
    (data) => {
      const parsed = JSON.parse(data) as { type: string; temp_id?: string; seq?: number; events?: unknown[] };
      const items = parsed.type === "batch" ? (parsed.events as (typeof parsed)[]) : [parsed];
      for (const item of items) {
        if (item.type === "ack" && item.temp_id && pending.delete(item.temp_id))
          acked.set(item.temp_id, item.seq ?? -1);
      }
    },
  );
  return { name, acked, pending, connection, send: (key) => void connection.send(frame(key)) };
}

function stompSender(token: string, userId: string, room: string): Sender {
  const acked = new Map<string, number>();
  const pending = new Set<string>();
  const frame = (key: string) =>
    `SEND\ndestination:/app/chat\ncontent-type:application/json\nidempotency-key:${key}\nreceipt:${key}\n\n${JSON.stringify(
      { channel_key: room, user: { id: userId }, message_type: "MESSAGE", message: key },
    )}\0`;
  const connection = new Resilient(
    async () => ws(`/v1/rooms/${room}/stomp`),
    (socket) => {
      socket.send(`CONNECT\naccept-version:1.2\nhost:parley\ntoken:${token}\n\n\0`);
      for (const key of pending) socket.send(frame(key));
    },
    (data) => {
      for (const match of data.matchAll(/RECEIPT\nreceipt-id:([^\n]+)\n/g)) {
        const key = match[1] as string;
        if (pending.delete(key)) acked.set(key, -1);
      }
    },
  );
  return { name: "stomp", acked, pending, connection, send: (key) => void connection.send(frame(key)) };
}

/** A subscriber that resumes from its last seen seq after every drop, recording every seq it is given. */
function subscriber(path: () => Promise<string>, room: string) {
  const seen: number[] = [];
  let last = 0;
  const connection = new Resilient(
    path,
    (socket) => socket.send(JSON.stringify({ type: "subscribe", room, since: last })),
    (data) => {
      const parsed = JSON.parse(data) as { type: string; seq?: number; events?: unknown[] };
      const items = parsed.type === "batch" ? (parsed.events as (typeof parsed)[]) : [parsed];
      for (const item of items) {
        if (item.type === "message" && typeof item.seq === "number") {
          seen.push(item.seq);
          last = Math.max(last, item.seq);
        }
      }
    },
  );
  return { seen, connection };
}

beforeAll(async () => {
  port = await freePort();
  persist = freshState();
  await start();
}, 90_000);

afterAll(async () => {
  await stop("SIGTERM");
  rmSync(persist, { recursive: true, force: true });
});

describe("chaos", () => {
  it(`keeps ${MESSAGES} messages exact through dropped sockets and ${RESTARTS} server restart(s)`, async () => {
    const room = `chaos-${Date.now()}`;
    const users = ["owner", "room-sender", "user-sender", "stomp-sender", "sub-a", "sub-b"].map(
      (u) => `${u}-${room}`,
    );
    const tokens = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await devToken(u)])));
    const [owner, roomSender, userSender, stompUser, subA, subB] = users as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const created = await call("POST", "/v1/rooms", tokens[owner] as string, {
      kind: "group",
      key: room,
      members: users.slice(1),
    });
    expect(created.status).toBe(201);

    const senders = [
      nativeSender("room", async () => ws(`/v1/rooms/${room}/ws?token=${tokens[roomSender]}`), room),
      nativeSender("user", async () => ws(`/v1/ws?token=${tokens[userSender]}`), room),
      stompSender(tokens[stompUser] as string, stompUser, room),
    ];
    const subscribers = [
      subscriber(async () => ws(`/v1/rooms/${room}/ws?token=${tokens[subA]}`), room),
      subscriber(async () => ws(`/v1/ws?token=${tokens[subB]}`), room),
    ];
    await Promise.all([...senders, ...subscribers].map((s) => s.connection.open()));

    const restartAt = new Set(
      Array.from({ length: RESTARTS }, (_, i) => Math.floor(((i + 1) * MESSAGES) / (RESTARTS + 1))),
    );
    let restarts = 0;
    for (let n = 0; n < MESSAGES; n++) {
      const sender = senders[n % senders.length] as Sender;
      const key = `${sender.name}-${n}`;
      sender.pending.add(key);
      sender.send(key);
      if (n % 37 === 0) (senders[(n / 37) % senders.length] as Sender).connection.drop();
      if (n % 53 === 0)
        (subscribers[n % subscribers.length] as (typeof subscribers)[number]).connection.drop();
      if (restartAt.has(n)) {
        // The first restart is a kill, the next graceful, and so on.
        await stop(restarts++ % 2 === 0 ? "SIGKILL" : "SIGTERM");
        await start();
      }
      if (n % 10 === 0) await sleep(10);
    }
    // Retry what is still unacked until every sender has its acks.
    const deadline = Date.now() + 60_000;
    while (senders.some((s) => s.pending.size > 0)) {
      if (Date.now() > deadline)
        throw new Error(`unacked: ${senders.map((s) => `${s.name}:${s.pending.size}`)}`);
      for (const s of senders) for (const key of s.pending) s.send(key);
      await sleep(500);
    }
    await sleep(1_500);

    const history: { seq: number; text: string }[] = [];
    for (let after = 0; ; ) {
      const page = await call(
        "GET",
        `/v1/rooms/${room}/messages?after=${after}&limit=100`,
        tokens[owner] as string,
      );
      const messages = page.body.messages as { seq: number; text: string }[];
      history.push(...messages);
      if (messages.length < 100) break;
      after = messages.at(-1)?.seq ?? after;
    }
    const texts = history.map((m) => m.text);
    const ackedKeys = senders.flatMap((s) => [...s.acked.keys()]);
    expect(ackedKeys).toHaveLength(MESSAGES);
    expect(new Set(texts).size).toBe(texts.length);
    expect([...texts].sort()).toEqual([...ackedKeys].sort());
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    for (const { seen, connection } of subscribers) {
      connection.close();
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(history.map((m) => m.seq));
    }
    for (const s of senders) s.connection.close();
  }, 600_000);
});
