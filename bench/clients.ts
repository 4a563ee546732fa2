import { SignJWT } from "jose";
import WebSocket from "ws";
import { Latency } from "./measure.ts";

/** The dev secret from .dev.vars, which `wrangler dev` uses: the harness signs its own tokens with it. */
export const DEV_SECRET = "parley-dev-secret-not-for-production";
const secretKey = new TextEncoder().encode(DEV_SECRET);
/** The API takes at most this many user ids per call (room creation, adding members). */
const MEMBERS_PER_CALL = 500;
const NATIVE_KEEPALIVE_MS = 25_000;
const REQUEST_TIMEOUT_MS = 30_000;

export type Frame = { type: string } & Record<string, unknown>;

export async function devToken(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, name: userId, iat: now, exp: now + 4 * 3600 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secretKey);
}

/** The HTTP API of one server; refuses any address but the loopback one. */
export class Api {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    const host = new URL(baseUrl).hostname;
    if (host !== "127.0.0.1" && host !== "localhost")
      throw new Error(`bench targets 127.0.0.1 only, not ${host}`);
  }

  wsUrl(path: string): string {
    return `${this.baseUrl.replace(/^http/, "ws")}${path}`;
  }

  async call<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** Creates a room with every listed member, in as many calls as the API's per-call limit needs. */
  async createRoom(
    ownerToken: string,
    key: string,
    kind: "group" | "live",
    members: string[],
  ): Promise<string> {
    const first = members.slice(0, MEMBERS_PER_CALL);
    const room = await this.call<{ key: string }>("POST", "/v1/rooms", ownerToken, {
      key,
      kind,
      members: first,
    });
    for (let at = MEMBERS_PER_CALL; at < members.length; at += MEMBERS_PER_CALL) {
      await this.call("POST", `/v1/rooms/${room.key}/members`, ownerToken, {
        user_ids: members.slice(at, at + MEMBERS_PER_CALL),
      });
    }
    return room.key;
  }

  async directRoom(token: string, peer: string): Promise<string> {
    return (await this.call<{ key: string }>("POST", "/v1/direct", token, { user_id: peer })).key;
  }

  async head(token: string, room: string): Promise<number> {
    return (await this.call<{ head: number }>("GET", `/v1/rooms/${encodeURIComponent(room)}`, token)).head;
  }

  /**
   * The server's Durable Object request counts by target (`RoomDO.attachUser`, `UserDO.receive`, `RoomDO.alarm`,
   * ...), or null when it does not count them (a tree without src/dev-stats.ts, or started without DEV_STATS).
   */
  async stats(): Promise<Record<string, number> | null> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/dev/stats`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return response.ok ? ((await response.json()) as Record<string, number>) : null;
    } catch {
      return null;
    }
  }

  async health(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  }
}

/**
 * One native-protocol socket. Every received WebSocket message is parsed once and batches are unfolded into
 * frames for `onFrame`; replies that carry a request `id` settle the matching `request`.
 */
export class NativeSocket {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  /** WebSocket messages and the frames they carried: their ratio is the server's batching. */
  messages = 0;
  frames = 0;
  private readonly waiting = new Map<string, { resolve: (f: Frame) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(url: string, onFrame: (frame: Frame, receivedAt: number) => void) {
    this.ws = new WebSocket(url, ["parley.v1"], { perMessageDeflate: false, handshakeTimeout: 30_000 });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
      this.ws.once("close", (code) => reject(new Error(`closed before open (${code})`)));
    });
    const keepalive = setInterval(
      () => this.ws.readyState === WebSocket.OPEN && this.ws.send("\n"),
      NATIVE_KEEPALIVE_MS,
    );
    keepalive.unref();
    this.closed = new Promise((resolve) => {
      this.ws.once("close", () => {
        clearInterval(keepalive);
        for (const { reject } of this.waiting.values()) reject(new Error("socket closed"));
        this.waiting.clear();
        resolve();
      });
    });
    this.ws.on("error", () => {});
    this.ws.on("message", (data) => {
      const receivedAt = performance.now();
      const text = data.toString();
      if (text === "\n") return;
      this.messages += 1;
      const parsed = JSON.parse(text) as Frame;
      const frames = parsed.type === "batch" ? (parsed.events as Frame[]) : [parsed];
      this.frames += frames.length;
      for (const frame of frames) {
        const id = typeof frame.id === "string" ? frame.id : null;
        const waiter = id === null ? undefined : this.waiting.get(id);
        if (id !== null && waiter) {
          this.waiting.delete(id);
          if (frame.type === "error") waiter.reject(new Error(`${frame.code}: ${frame.message}`));
          else waiter.resolve(frame);
        }
        onFrame(frame, receivedAt);
      }
    });
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a frame with a fresh request id and waits for the reply that echoes it. */
  request(frame: Record<string, unknown>): Promise<Frame> {
    const id = `q${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no reply to ${frame.type} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send({ ...frame, id });
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN)
      this.ws.close(1000);
    return this.closed;
  }
}

/** One measurement window: messages stamped with its id count toward it. */
export class Run {
  readonly latency = new Latency();
  delivered = 0;
  lastReceiveAt = 0;
  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }
}

const DURABLE = new Set(["message", "member_joined", "member_left", "room_updated", "room_deleted"]);

/**
 * A subscriber that keeps its place in a room's sequence across reconnects: every durable event must be the
 * next `seq`, so a skipped one counts as a gap and a repeated one as a duplicate.
 */
export class Receiver {
  socket: NativeSocket | null = null;
  lastSeq: number | null = null;
  gaps = 0;
  duplicates = 0;
  errors: Frame[] = [];
  run: Run | null = null;
  /** A publisher sharing this socket (a user socket that both sends and receives). */
  sender: Sender | null = null;
  /** Socket-level totals across reconnects. */
  messages = 0;
  frames = 0;

  readonly userId: string;
  readonly token: string;

  constructor(userId: string, token: string) {
    this.userId = userId;
    this.token = token;
  }

  async connect(api: Api, path: string): Promise<void> {
    if (this.socket) this.count(this.socket);
    this.socket = new NativeSocket(api.wsUrl(`${path}?token=${this.token}`), (f, at) => this.observe(f, at));
    await this.socket.opened;
  }

  /** Subscribes (resuming after the last seen seq when there is one) and waits for the answer. */
  async subscribe(room: string | null): Promise<number> {
    const socket = this.socket;
    if (!socket) throw new Error("not connected");
    const reply = await socket.request({
      type: "subscribe",
      ...(room === null ? {} : { room }),
      ...(this.lastSeq === null ? {} : { since: this.lastSeq }),
    });
    return reply.head as number;
  }

  async close(): Promise<void> {
    if (!this.socket) return;
    await this.socket.close();
    this.count(this.socket);
    this.socket = null;
  }

  private count(socket: NativeSocket): void {
    this.messages += socket.messages;
    this.frames += socket.frames;
    socket.messages = 0;
    socket.frames = 0;
  }

  private observe(frame: Frame, receivedAt: number): void {
    this.sender?.observe(frame, receivedAt);
    if (frame.type === "subscribed") {
      const head = frame.head as number;
      if (this.lastSeq === null) this.lastSeq = head;
      else if (head > this.lastSeq) {
        this.gaps += head - this.lastSeq;
        this.lastSeq = head;
      }
      return;
    }
    if (frame.type === "error") {
      this.errors.push(frame);
      return;
    }
    if (!DURABLE.has(frame.type) || typeof frame.seq !== "number") return;
    const seq = frame.seq;
    if (this.lastSeq !== null && seq <= this.lastSeq) {
      this.duplicates += 1;
      return;
    }
    if (this.lastSeq !== null && seq > this.lastSeq + 1) this.gaps += seq - this.lastSeq - 1;
    this.lastSeq = seq;
    const data =
      frame.type === "message" ? (frame.message as { data?: { run?: string; t?: number } }).data : null;
    const run = this.run;
    if (run && data?.run === run.id && typeof data.t === "number") {
      run.delivered += 1;
      run.latency.record(receivedAt - data.t);
      run.lastReceiveAt = Math.max(run.lastReceiveAt, receivedAt);
    }
  }
}

/** A publisher: sends stamped messages and measures send → ack. */
export class Sender {
  socket: NativeSocket | null = null;
  /** Send → ack latencies; a measurement window starts a fresh one. */
  acks = new Latency();
  acked = 0;
  failures: Frame[] = [];
  private readonly sentAt = new Map<string, number>();

  readonly userId: string;
  readonly token: string;

  constructor(userId: string, token: string) {
    this.userId = userId;
    this.token = token;
  }

  async connect(api: Api, path: string): Promise<void> {
    this.socket = new NativeSocket(api.wsUrl(`${path}?token=${this.token}`), (f, at) => this.observe(f, at));
    await this.socket.opened;
  }

  /** Sends through a receiver's socket instead of one of its own. */
  share(receiver: Receiver): void {
    this.socket = receiver.socket;
    receiver.sender = this;
  }

  /** `room` is needed on the user socket only. The stamp is the schedule's due time (see `paced`). */
  send(run: Run, index: number, stamp: number, room: string | null): void {
    const tempId = `${run.id}-${this.userId}-${index}`;
    this.sentAt.set(tempId, stamp);
    this.socket?.send({
      type: "send",
      temp_id: tempId,
      text: `bench ${index}`,
      data: { run: run.id, t: stamp },
      ...(room === null ? {} : { room }),
    });
  }

  get inFlight(): number {
    return this.sentAt.size;
  }

  async close(): Promise<void> {
    await this.socket?.close();
    this.socket = null;
  }

  observe(frame: Frame, receivedAt: number): void {
    const tempId = typeof frame.temp_id === "string" ? frame.temp_id : null;
    const sentAt = tempId === null ? undefined : this.sentAt.get(tempId);
    if (tempId === null || sentAt === undefined) return;
    this.sentAt.delete(tempId);
    if (frame.type === "ack") {
      this.acked += 1;
      this.acks.record(receivedAt - sentAt);
    } else if (frame.type === "error") {
      this.failures.push(frame);
    }
  }
}
