import { wsUrl } from "./client";

const DEFAULT_WAIT_MS = 5000;

/**
 * What a socket delivered, read in order. `next` consumes items up to the first match, so a test waits for
 * exactly what it expects; `until` also returns the items it passed over, so a later frame can prove that an
 * earlier one never came (events of one room reach a socket in order).
 */
export class Mailbox<T> {
  readonly items: T[] = [];
  private consumed = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly describe: (item: T) => string = (item) => JSON.stringify(item)) {}

  push(item: T): void {
    this.items.push(item);
    for (const wake of this.waiters) wake();
  }

  async next(match: (item: T) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    const passed = await this.until(match, timeoutMs);
    return passed[passed.length - 1] as T;
  }

  /** The items from the read position up to and including the first match. */
  async until(match: (item: T) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<T[]> {
    const start = this.consumed;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.consumed < this.items.length) {
        const item = this.items[this.consumed++] as T;
        if (match(item)) return this.items.slice(start, this.consumed);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.items.slice(start).map(this.describe).join("\n");
        throw new Error(`timed out after ${timeoutMs} ms; received instead:\n${seen.slice(0, 3000)}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }
}

export type Json = Record<string, unknown>;

/** A plain WebSocket from Node's own client whose text messages are parsed into a mailbox. */
export interface Wire<T> {
  ws: WebSocket;
  inbox: Mailbox<T>;
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
}

export function openWire<T>(path: string, parse: (data: string) => T[], protocols: string[] = []): Wire<T> {
  const ws = new WebSocket(wsUrl(path), protocols);
  ws.binaryType = "arraybuffer";
  const inbox = new Mailbox<T>();
  ws.addEventListener("message", (e) => {
    const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    for (const item of parse(text)) inbox.push(item);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`could not open ${path}`)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
  });
  opened.catch(() => undefined);
  return {
    ws,
    inbox,
    opened,
    closed,
    send: (frame) =>
      ws.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame)),
  };
}

/** The native room socket (`/v1/rooms/{key}/ws`), its batch frames unfolded into single events. */
export async function nativeRoomSocket(room: string, token: string): Promise<Wire<Json>> {
  const wire = openWire<Json>(
    `/v1/rooms/${encodeURIComponent(room)}/ws?token=${token}`,
    (text) => {
      const frame = JSON.parse(text) as Json;
      return frame.type === "batch" ? (frame.events as Json[]) : [frame];
    },
    ["parley.v1"],
  );
  await wire.opened;
  wire.send({ type: "subscribe", id: "native-sub" });
  await wire.inbox.next((f) => f.type === "subscribed");
  return wire;
}

export const ofType =
  (type: string) =>
  (frame: Json): boolean =>
    frame.type === type;
