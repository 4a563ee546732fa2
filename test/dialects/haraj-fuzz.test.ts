import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decoded, SessionContext } from "../../src/dialects/codec";
import { type HarajState, type HarajTag, harajCodec } from "../../src/dialects/haraj/codec";
import type { CommandOutcome } from "../../src/domain/commands";
import type { Profile } from "../../src/domain/model";
import { anyBytes, anyText, corruptUtf8, FUZZ, fieldsOver } from "../helpers/fuzz";
import { seedMessage } from "../helpers/seed-001";

const NOW = "2018-02-02T08:30:39.789Z";
const USER_1: Profile = { id: "1", name: "saad", avatar: null };

function context(user: Profile | null): SessionContext {
  return {
    sessionId: "s",
    user,
    room: null,
    maxFrameBytes: 65_536,
    now: () => new Date(NOW),
    roomInfo: () => null,
  };
}

const sessions = fc.constantFrom(context(USER_1), context(null));

const COMMANDS = ["auth", "listen", "unlisten", "send", "read", "typing", "stop_typing"];
const FIELDS = ["id", "access_token", "peer_id", "topic_id", "text", "temp_id", "seq_id"];

/** `{"<command>": {...}}` with arbitrary, deep or wide field values, sometimes with a second command beside it. */
const typedFrame = fc
  .record({
    command: fc.constantFrom(...COMMANDS),
    body: fieldsOver({}, FIELDS),
    extra: fc.option(fc.constantFrom(...COMMANDS), { nil: undefined }),
  })
  .map(({ command, body, extra }) => JSON.stringify({ [command]: body, ...(extra ? { [extra]: {} } : {}) }));

/**
 * Haraj answers every frame (docs/dialects/haraj.md): one command for the host, or one reply packet with the
 * documented status and `err` constant, the server's `ts`, and the request id when one could be read.
 */
function expectAnswered(decoded: Decoded<HarajState, HarajTag>): void {
  if (decoded.commands.length > 0) {
    expect(decoded.commands).toHaveLength(1);
    expect(decoded.replies).toEqual([]);
    return;
  }
  expect(decoded.replies).toHaveLength(1);
  const reply = JSON.parse(decoded.replies[0] ?? "null");
  expect([
    { status: 400, err: "ERR_BAD_REQUEST" },
    { status: 401, err: "ERR_INVALID_ACCESS_TOKEN" },
    { status: 403, err: "ERR_FORBIDDEN_ACCESS" },
  ]).toContainEqual({ status: reply.status, err: reply.err });
  expect(reply.ts).toBe(NOW);
  if ("id" in reply) expect(typeof reply.id).toBe("string");
}

const decode = (frame: string | ArrayBuffer, ctx: SessionContext) =>
  harajCodec.decode(harajCodec.initialState(ctx), frame, ctx);

describe("Haraj codec fuzzing", () => {
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

  it("answers every binary frame that is not UTF-8 with a 400 packet", () => {
    const corrupt = corruptUtf8('{"send":{"id":"r1","topic_id":"p2p1_2","text":"', '"}}');
    fc.assert(
      fc.property(corrupt, (bytes) => {
        const decoded = decode(bytes, context(USER_1));
        expect(decoded.commands).toEqual([]);
        expect(JSON.parse(decoded.replies[0] ?? "null")).toMatchObject({
          status: 400,
          err: "ERR_BAD_REQUEST",
        });
      }),
      FUZZ,
    );
  });

  it("answers every command with arbitrary, deep or wide field values", () => {
    fc.assert(
      fc.property(typedFrame, sessions, (frame, ctx) => expectAnswered(decode(frame, ctx))),
      FUZZ,
    );
  });

  it("decodes every well-formed send and answers it with its request id and temp id", () => {
    const send = fc.record({
      id: fc.string({ minLength: 1, maxLength: 256 }),
      text: fc.string({ maxLength: 200 }),
      temp_id: fc.option(fc.string({ minLength: 1, maxLength: 128 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(send, ({ id, text, temp_id }) => {
        const ctx = context(USER_1);
        const decoded = decode(JSON.stringify({ send: { id, topic_id: "p2p1_2", text, temp_id } }), ctx);
        const [tagged] = decoded.commands;
        if (!tagged) throw new Error(`refused: ${decoded.replies}`);
        expect(tagged.command).toMatchObject({ kind: "send_direct", to: "2", draft: { text } });
        const message = seedMessage({ sender: USER_1, text, seq: 5 });
        const ack = {
          temp_id: temp_id ?? "derived",
          id: message.id,
          seq: 5,
          epoch: "e",
          created_at: NOW,
          duplicate: false,
        };
        const outcome: CommandOutcome = { ok: true, value: { kind: "sent", room: "dm:1:2", ack, message } };
        const answer = harajCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, ctx);
        const reply = JSON.parse(answer.frames[0] ?? "null");
        expect(reply).toEqual({
          id,
          status: 200,
          data: { topic_id: "p2p1_2", seq_id: 5, ...(temp_id === undefined ? {} : { temp_id }), ts: NOW },
          ts: NOW,
        });
      }),
      FUZZ,
    );
  });
});
