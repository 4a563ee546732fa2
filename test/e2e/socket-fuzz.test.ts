import fc from "fast-check";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { api, devToken, unique, wsUrl } from "./client";

/**
 * Socket-level fuzzing against `wrangler dev`: a fuzzer pours seeded garbage and valid sends, mixed, into each
 * dialect's socket while observers subscribed to the same room check the room's order. Whatever the fuzzer
 * sends, the observers see every stored message once, in seq order, with no gap. `npm run fuzz` raises the
 * frames per dialect (FUZZ_FRAMES).
 */
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 150);

interface Observed {
  seqs: number[];
  closes: number[];
  stop(): void;
}

/**
 * An observer subscribed to the room that resumes with `since` from its last seen seq whenever its socket closes
 * (a long run keeps native sockets past their idle limit, since this client sends no keepalive).
 */
function observe(path: string): Promise<Observed> {
  const seqs: number[] = [];
  const closes: number[] = [];
  let stopped = false;
  let current: WebSocket | null = null;
  const stop = () => {
    stopped = true;
    current?.close();
  };
  return new Promise((resolve, reject) => {
    const connect = () => {
      const ws = new WebSocket(wsUrl(path));
      current = ws;
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as {
          type: string;
          seq?: number;
          events?: { type: string; seq?: number }[];
        };
        for (const event of frame.type === "batch" ? (frame.events ?? []) : [frame]) {
          if (event.type === "message" && typeof event.seq === "number") seqs.push(event.seq);
          if (event.type === "subscribed") resolve({ seqs, closes, stop });
        }
      });
      ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", since: seqs.at(-1) ?? 0 })));
      ws.on("close", (code) => {
        if (stopped) return;
        closes.push(code);
        setTimeout(connect, 100);
      });
      ws.on("error", (error) => {
        if (seqs.length === 0 && closes.length === 0) reject(error);
      });
    };
    connect();
  });
}

/** A fuzzing client that reconnects whenever the server closes it for its garbage. */
async function pour(url: () => Promise<string>, frames: (string | Buffer)[], first?: string): Promise<void> {
  let i = 0;
  while (i < frames.length) {
    const ws = new WebSocket(await url());
    let lastAnswerAt = Date.now();
    ws.on("message", (m) => {
      if (process.env.FUZZ_DEBUG) console.log("FUZZ<", String(m).slice(0, 160));
      lastAnswerAt = Date.now();
    });
    await new Promise<void>((resolve) => {
      ws.on("open", async () => {
        if (first) ws.send(first);
        while (i < frames.length && ws.readyState === WebSocket.OPEN) {
          ws.send(frames[i++] as string | Buffer);
          if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        // Close once the server has gone quiet: it answered everything it was going to.
        while (ws.readyState === WebSocket.OPEN && Date.now() - lastAnswerAt < 700)
          await new Promise((r) => setTimeout(r, 100));
        ws.close();
      });
      ws.on("close", (code) => {
        if (process.env.FUZZ_DEBUG) console.log("FUZZ closed", code);
        resolve();
      });
      ws.on("error", () => resolve());
    });
  }
}

const garbage = fc.oneof(
  fc.string(),
  fc.json(),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => JSON.stringify({ type: "send", temp_id: 7, text: v })),
  fc.constant(`{"type":"send","text":"x","data":${"[".repeat(40)}${"]".repeat(40)}}`),
);

function sample<T>(arbitrary: fc.Arbitrary<T>, count: number, seed: number): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed });
}

describe("socket-level fuzzing keeps every observer's view of the room exact", () => {
  it.each([
    ["native room socket", "room"],
    ["native user socket", "user"],
    ["Haraj socket", "haraj"],
  ] as const)("%s", async (_label, kind) => {
    const id = unique();
    // Haraj names users by number, and a direct room's topic by its two numbers.
    const base = 700_000_000 + Math.floor(Math.random() * 100_000_000);
    const names =
      kind === "haraj"
        ? [0, 1, 2, 3].map((n) => String(base + n))
        : ["own", "fz", "oa", "ob"].map((p) => `${p}-${id}`);
    const [owner, fuzzer, a, b] = names as [string, string, string, string];
    const key = kind === "haraj" ? null : `fuzz-${id}`;
    let room = key ?? "";
    if (key) {
      await api("POST", "/v1/rooms", await devToken(owner), { kind: "group", key, members: [fuzzer, a, b] });
    } else {
      const direct = await api<{ key: string }>("POST", "/v1/direct", await devToken(fuzzer), { user_id: a });
      room = direct.body.key;
    }
    const observers = await Promise.all(
      [a, b]
        .slice(0, key ? 2 : 1)
        .map(async (u) => observe(`/v1/rooms/${encodeURIComponent(room)}/ws?token=${await devToken(u)}`)),
    );
    const valid = (n: number) =>
      kind === "haraj"
        ? JSON.stringify({ send: { id: `s${n}`, topic_id: `p2p${fuzzer}_${a}`, text: `valid ${n}` } })
        : JSON.stringify({ type: "send", room, temp_id: `v${n}`, text: `valid ${n}` });
    const frames = sample(garbage, FRAMES, 29).flatMap((g, n) => (n % 10 === 0 ? [valid(n), g] : [g]));
    const token = await devToken(fuzzer);
    const path =
      kind === "room"
        ? `/v1/rooms/${encodeURIComponent(room)}/ws?token=${token}`
        : kind === "user"
          ? `/v1/ws?token=${token}`
          : "/chat/ws";
    await pour(
      async () => wsUrl(path),
      frames,
      kind === "haraj" ? JSON.stringify({ auth: { id: "a", access_token: token } }) : undefined,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const reader = await devToken(a);
    const stored: number[] = [];
    for (let after = 0; ; ) {
      const page = await api<{ messages: { seq: number }[] }>(
        "GET",
        `/v1/rooms/${encodeURIComponent(room)}/messages?after=${after}&limit=100`,
        reader,
      );
      stored.push(...page.body.messages.map((m) => m.seq));
      if (page.body.messages.length < 100) break;
      after = stored.at(-1) ?? after;
    }
    for (const { seqs, stop } of observers) {
      expect(seqs).toEqual(stored);
      stop();
    }
    // Valid sends past the per-user send burst are refused as rate-limited: only some are stored.
    expect(stored.length).toBeGreaterThan(Math.min(FRAMES / 20, 10));
    expect(stored).toEqual(stored.map((_, i) => i + 1));
  });
});
