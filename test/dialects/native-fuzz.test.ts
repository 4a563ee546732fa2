import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decoded, SessionContext } from "../../src/dialects/codec";
import { type NativeState, type NativeTag, nativeCodec } from "../../src/dialects/native/codec";
import { jsonBoundsIssue } from "../../src/domain/bounds";
import type { ChatEvent } from "../../src/domain/events";
import type { Profile } from "../../src/domain/model";
import { anyBytes, anyText, corruptUtf8, FUZZ, fieldsOver } from "../helpers/fuzz";
import { seedMessage } from "../helpers/seed-001";

const ALICE: Profile = { id: "alice", name: "Alice", avatar: null };

function context(user: Profile | null, room: string | null): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room,
    maxFrameBytes: 65_536,
    now: () => new Date("2026-01-01T00:00:00Z"),
    roomInfo: () => null,
  };
}

/** Authenticated and not, on the user socket and on a room socket. */
const sessions = fc.constantFrom(
  context(ALICE, null),
  context(ALICE, "room-1"),
  context(null, null),
  context(null, "room-1"),
);

const FRAME_TYPES = ["auth", "subscribe", "unsubscribe", "send", "dm", "typing", "read", "watch", "unwatch"];
const FIELDS = [
  ...["id", "token", "room", "since", "temp_id", "text", "message_type", "custom_type", "data"],
  ...["to", "parent_id", "typing", "seq", "user"],
];

/** A frame of a known type whose fields hold arbitrary, deep or wide JSON. */
const typedFrame = fc
  .constantFrom(...FRAME_TYPES)
  .chain((type) => fieldsOver({ type }, FIELDS))
  .map((frame) => JSON.stringify(frame));

/**
 * The native protocol answers every frame: with one command for the host, or with one `error` reply
 * (`bad_request`, or `payload_too_large` over the frame limit). Nothing undecodable is ever silent, and no
 * command carries data beyond the bounds.
 */
function expectAnswered(decoded: Decoded<NativeState, NativeTag>): void {
  if (decoded.commands.length > 0) {
    expect(decoded.commands).toHaveLength(1);
    expect(decoded.replies).toEqual([]);
    const command = decoded.commands[0]?.command;
    if (command && "draft" in command) expect(jsonBoundsIssue(command.draft.data)).toBeNull();
    return;
  }
  expect(decoded.replies).toHaveLength(1);
  const reply = JSON.parse(decoded.replies[0] ?? "null");
  expect(reply.type).toBe("error");
  expect(["bad_request", "payload_too_large"]).toContain(reply.code);
  expect(typeof reply.message).toBe("string");
}

const decode = (frame: string | ArrayBuffer, ctx: SessionContext) =>
  nativeCodec.decode(nativeCodec.initialState(ctx), frame, ctx);

describe("native codec fuzzing", () => {
  it("answers arbitrary text without throwing", () => {
    fc.assert(
      fc.property(anyText, sessions, (text, ctx) => expectAnswered(decode(text, ctx))),
      FUZZ,
    );
  });

  it("answers arbitrary bytes without throwing", () => {
    fc.assert(
      fc.property(anyBytes, sessions, (bytes, ctx) => expectAnswered(decode(bytes, ctx))),
      FUZZ,
    );
  });

  it("refuses every binary frame that is not UTF-8 rather than storing replacement characters", () => {
    const corrupt = corruptUtf8('{"type":"send","temp_id":"t1","text":"', '"}');
    fc.assert(
      fc.property(corrupt, (bytes) => {
        const decoded = decode(bytes, context(ALICE, "room-1"));
        expect(decoded.commands).toEqual([]);
        expect(JSON.parse(decoded.replies[0] ?? "null")).toMatchObject({
          type: "error",
          code: "bad_request",
        });
      }),
      FUZZ,
    );
  });

  it("answers frames of every type with arbitrary, deep or wide field values", () => {
    fc.assert(
      fc.property(typedFrame, sessions, (frame, ctx) => expectAnswered(decode(frame, ctx))),
      FUZZ,
    );
  });

  it("decodes every well-formed send into the draft it carries", () => {
    const send = fc.record({
      temp_id: fc.string({ minLength: 1, maxLength: 128 }),
      text: fc.string({ maxLength: 200 }),
      data: fc.jsonValue({ maxDepth: 6 }),
      id: fc.string({ maxLength: 128 }),
    });
    fc.assert(
      fc.property(send, ({ temp_id, text, data, id }) => {
        const frame = JSON.stringify({ type: "send", id, temp_id, text, data });
        const [tagged] = decode(frame, context(ALICE, "room-1")).commands;
        expect(tagged?.command).toEqual({
          kind: "send",
          room: "room-1",
          draft: {
            temp_id,
            text,
            type: "text",
            custom_type: null,
            data: JSON.parse(JSON.stringify(data)),
            to: null,
            parent_id: null,
          },
        });
        expect(tagged?.tag).toEqual({ ...(id ? { id } : {}), temp_id });
      }),
      FUZZ,
    );
  });

  it("encodes events so that a client parsing them, batched or not, reads them back unchanged", () => {
    const event = fc
      .record({ text: fc.string(), data: fc.jsonValue({ maxDepth: 6 }), seq: fc.nat() })
      .map(({ text, data, seq }): ChatEvent => {
        const message = seedMessage({ room: "room-1", seq, text, data });
        return { type: "message", room: "room-1", seq, at: message.created_at, message } as ChatEvent;
      });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 5 }), (events) => {
        const frames = events.flatMap((e) =>
          nativeCodec.encodeEvent({ strikes: 0 }, e, context(ALICE, null)),
        );
        const normalized = JSON.parse(JSON.stringify(events));
        const batched = nativeCodec.batch(frames).map((message) => JSON.parse(message));
        if (events.length > 1) expect(batched).toEqual([{ type: "batch", events: normalized }]);
        else expect(batched).toEqual(normalized);
      }),
      FUZZ,
    );
  });
});
