import fc from "fast-check";
import { expect, it } from "vitest";
import WebSocket from "ws";
import { api, devToken, unique, wsUrl } from "./client";

/**
 * Socket-level fuzzing of `/websocket` against `wrangler dev`: seeded garbage, DDP-shaped frames with arbitrary
 * fields and valid `sendMessage` calls, mixed, from a logged-in DDP session, while native observers of the room
 * check its order. Every stored message reaches them once, in seq order, with no gap, and every valid call is
 * answered. `FUZZ_FRAMES` raises the number of frames.
 */
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 150);

function observe(path: string): Promise<{ seqs: number[]; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path));
    const seqs: number[] = [];
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; seq?: number; events?: (typeof frame)[] };
      for (const event of frame.type === "batch" ? (frame.events ?? []) : [frame]) {
        if (event.type === "message" && typeof event.seq === "number") seqs.push(event.seq);
        if (event.type === "subscribed") resolve({ seqs, ws });
      }
    });
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe" })));
    ws.on("error", reject);
  });
}

const ddpShaped = (room: string) =>
  fc.oneof(
    fc.record({
      msg: fc.constantFrom("method", "sub", "unsub", "connect", "ping", "pong", "nope"),
      id: fc.oneof(fc.string(), fc.integer(), fc.jsonValue()),
      method: fc.constantFrom("sendMessage", "loadHistory", "setReaction", "login", "logout", "x"),
      name: fc.constantFrom("stream-room-messages", "stream-notify-room", "stream-notify-user", "y"),
      params: fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 4 })),
    }),
    fc
      .jsonValue()
      .map((msg) => ({ msg: "method", id: "g", method: "sendMessage", params: [{ rid: room, msg }] })),
  );

it("a DDP session pouring garbage never breaks the room's order for its observers", async () => {
  const id = unique();
  const [owner, fuzzer, a, b] = ["own", "fz", "oa", "ob"].map((p) => `dd${p}-${id}`) as [
    string,
    string,
    string,
    string,
  ];
  const room = `ddp-fuzz-${id}`;
  await api("POST", "/v1/rooms", await devToken(owner), {
    kind: "group",
    key: room,
    members: [fuzzer, a, b],
  });
  const observers = await Promise.all(
    [a, b].map(async (u) => observe(`/v1/rooms/${room}/ws?token=${await devToken(u)}`)),
  );
  const garbage = fc.oneof(
    fc.string(),
    fc.json(),
    fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
    ddpShaped(room).map((frame) => JSON.stringify(frame)),
  );
  const valid = (n: number) =>
    JSON.stringify({
      msg: "method",
      id: `v${n}`,
      method: "sendMessage",
      params: [{ _id: `v${n}-${id}`, rid: room, msg: `valid ${n}` }],
    });
  const frames = fc
    .sample(garbage, { numRuns: FRAMES, seed: 31 })
    .flatMap((g, n) => (n % 10 === 0 ? [valid(n), g] : [g]));
  const answered = new Set<string>();
  const token = await devToken(fuzzer);

  // A fuzzing client that reconnects, connects and logs in again whenever the server closes it (a `logout`, a
  // frame past the bounds): frames sent while a close is under way are lost, as they would be for any client.
  let i = 0;
  while (i < frames.length) {
    const ws = new WebSocket(wsUrl("/websocket"));
    let lastAnswerAt = Date.now();
    ws.on("message", (data) => {
      lastAnswerAt = Date.now();
      const message = JSON.parse(String(data)) as { msg?: string; id?: unknown; result?: unknown };
      if (message.msg === "result" && typeof message.id === "string" && message.result !== undefined)
        answered.add(message.id);
    });
    await new Promise<void>((resolve) => {
      ws.on("open", async () => {
        ws.send(JSON.stringify({ msg: "connect", version: "1", support: ["1"] }));
        ws.send(JSON.stringify({ msg: "method", id: "login", method: "login", params: [{ resume: token }] }));
        while (i < frames.length && ws.readyState === WebSocket.OPEN) {
          ws.send(frames[i++] as string | Buffer);
          if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        while (ws.readyState === WebSocket.OPEN && Date.now() - lastAnswerAt < 700)
          await new Promise((r) => setTimeout(r, 100));
        ws.close();
      });
      ws.on("close", (code, reason) => {
        if (process.env.FUZZ_DEBUG) console.log("closed", code, String(reason), i);
        resolve();
      });
      ws.on("error", () => resolve());
    });
  }
  await new Promise((r) => setTimeout(r, 1500));
  const reader = await devToken(a);
  const stored: number[] = [];
  const texts: string[] = [];
  for (let after = 0; ; ) {
    const page = await api<{ messages: { seq: number; text: string }[] }>(
      "GET",
      `/v1/rooms/${room}/messages?after=${after}&limit=100`,
      reader,
    );
    stored.push(...page.body.messages.map((m) => m.seq));
    texts.push(...page.body.messages.map((m) => m.text));
    if (page.body.messages.length < 100) break;
    after = stored.at(-1) ?? after;
  }
  for (const { seqs, ws } of observers) {
    expect(seqs).toEqual(stored);
    ws.close();
  }
  expect(stored).toEqual(stored.map((_, n) => n + 1));
  const validTexts = texts.filter((t) => t.startsWith("valid "));
  expect(new Set(validTexts).size).toBe(validTexts.length);
  if (process.env.FUZZ_DEBUG) console.log("stored", stored.length, "answered", answered.size);
  // Valid sends past the per-user send burst are refused as rate-limited: only some are stored.
  expect(validTexts.length).toBeGreaterThan(Math.min(FRAMES / 20, 10));
  expect(answered.size).toBeGreaterThanOrEqual(validTexts.length);
}, 120_000);
