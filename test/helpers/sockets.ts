import { SELF } from "cloudflare:test";

/** A client socket opened through the Worker, with a queue of what the server sent. */
export interface TestSocket {
  ws: WebSocket;
  /** Every text frame received so far, parsed as JSON when it is JSON (native batches are unfolded). */
  received: unknown[];
  send(frame: unknown): void;
  /** The next received item matching `match`, waiting up to `timeoutMs`. */
  next<T = Record<string, unknown>>(
    match?: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<T>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function openSocket(
  path: string,
  init: { token?: string; protocols?: string[] } = {},
): Promise<TestSocket> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.protocols) headers["Sec-WebSocket-Protocol"] = init.protocols.join(", ");
  const res = await SELF.fetch(`https://parley.test${path}`, { headers });
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${res.status} ${await res.text()}`);
  ws.accept();
  return wrap(ws);
}

function unfold(data: unknown): unknown[] {
  if (typeof data !== "string") return [data];
  try {
    const parsed = JSON.parse(data) as { type?: string; events?: unknown[] };
    return parsed.type === "batch" && Array.isArray(parsed.events) ? parsed.events : [parsed];
  } catch {
    return [data];
  }
}

function wrap(ws: WebSocket): TestSocket {
  const received: unknown[] = [];
  let consumed = 0;
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    received.push(...unfold(e.data));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e) => {
      resolve({ code: e.code, reason: e.reason });
      for (const w of waiters.splice(0)) w();
    });
  });
  const socket: TestSocket = {
    ws,
    received,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    async next(match = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (consumed < received.length) {
          const item = received[consumed++] as Record<string, unknown>;
          if (typeof item === "object" && item !== null && match(item)) return item as never;
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`timed out waiting; received: ${JSON.stringify(received).slice(0, 2000)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    closed,
    close: () => ws.close(1000, "bye"),
  };
  return socket;
}

export const ofType =
  (type: string) =>
  (m: Record<string, unknown>): boolean =>
    m.type === type;
