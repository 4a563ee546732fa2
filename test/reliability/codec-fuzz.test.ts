import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import { type AnyCodec, dialectNames, dialects } from "../../src/dialects/registry";
import type { Profile } from "../../src/domain/model";
import { anyBytes, anyText } from "../helpers/fuzz";

/**
 * Every registered codec against arbitrary input, in sequences, authenticated or not. `npm run fuzz` raises the
 * number of frames per dialect (FUZZ_RUNS) to 100,000; the suite runs a seeded few hundred.
 */
const runs = Number(env.FUZZ_RUNS ?? 300);
/** A session's state lives in its socket attachment, which holds at most 16 KiB with the rest of the session. */
const MAX_STATE_BYTES = 12 * 1024;

const user: Profile = { id: "fuzzer", name: "Fuzz", avatar: null };
const context = (authenticated: boolean): SessionContext => ({
  sessionId: "fuzz-session",
  user: authenticated ? user : null,
  room: "fuzz-room",
  maxFrameBytes: 4096,
  now: () => new Date("2026-01-01T00:00:00Z"),
  roomInfo: (key) => ({ key, number: 7, kind: "group", private: false, epoch: "e1" }),
});

const frame = fc.oneof(anyText, anyBytes);

describe.each(dialectNames)("the %s codec under fuzzing", (name) => {
  const codec: AnyCodec = dialects[name];

  it("never throws, and its state stays JSON, small enough for the attachment, through any frame sequence", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 8 }), (authenticated, frames) => {
        const ctx = context(authenticated);
        let state = codec.initialState(ctx);
        for (const raw of frames) {
          const decoded = codec.decode(state, raw, ctx);
          state = decoded.state;
          const stored = JSON.stringify(state) ?? "null";
          expect(JSON.parse(stored)).toEqual(JSON.parse(JSON.stringify(state) ?? "null"));
          expect(new TextEncoder().encode(stored).byteLength).toBeLessThan(MAX_STATE_BYTES);
          for (const reply of decoded.replies) expect(typeof reply).toBe("string");
          if (decoded.close) expect(decoded.close.code).toBeGreaterThanOrEqual(1000);
        }
      }),
      { seed: 16, numRuns: Math.max(1, Math.floor(runs / 4)) },
    );
  });

  it("answers every single frame with something a client can see, or a close", () => {
    fc.assert(
      fc.property(frame, (raw) => {
        const ctx = context(true);
        const decoded = codec.decode(codec.initialState(ctx), raw, ctx);
        const visible =
          decoded.replies.length > 0 || decoded.commands.length > 0 || decoded.close !== undefined;
        // STOMP buffers a partial frame and answers heart-beats with silence: both are documented.
        if (name !== "stomp") expect(visible).toBe(true);
      }),
      { seed: 17, numRuns: runs },
    );
  });
});
