import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Decoded, SessionContext } from "../../src/dialects/codec";
import { type StompState, type StompTag, stompCodec } from "../../src/dialects/stomp/codec";
import { formatFrame, readHeaders, SERVER_COMMANDS, scanFrames } from "../../src/dialects/stomp/frame";
import { jsonBoundsIssue } from "../../src/domain/bounds";
import type { CommandOutcome } from "../../src/domain/commands";
import type { Profile } from "../../src/domain/model";
import { anyBytes, anyText, corruptUtf8, FUZZ, fieldsOver } from "../helpers/fuzz";

const ROOM = "room-1";
const ALICE: Profile = { id: "alice", name: "Alice", avatar: null };

function context(user: Profile | null): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room: ROOM,
    maxFrameBytes: 65_536,
    now: () => new Date("2026-01-01T00:00:00Z"),
    roomInfo: () => null,
  };
}

const greeting = (): StompState => stompCodec.initialState(context(null));

function connected(): StompState {
  const connect = formatFrame({ command: "CONNECT", headers: [["token", "jwt"]] }, null);
  const decoded = stompCodec.decode(greeting(), connect, context(null));
  const [tagged] = decoded.commands;
  if (!tagged) throw new Error(`CONNECT was refused: ${decoded.replies}`);
  const outcome: CommandOutcome = { ok: true, value: { kind: "auth", user: ALICE, expires_at: null } };
  return stompCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, context(ALICE)).state;
}

/** The server frames of one WebSocket message, as a STOMP client parses them. */
function serverFrames(message: string) {
  const scan = scanFrames(message, 1 << 20, SERVER_COMMANDS);
  expect(scan.error).toBeNull();
  expect(scan.rest).toBe("");
  return scan.frames;
}

/**
 * STOMP's documented answers: a refusal is an ERROR frame followed by a close; DISCONNECT closes normally;
 * otherwise the replies are RECEIPTs and the commands go to the host (a send's data always within bounds).
 * Before CONNECT, silence means the input holds no complete frame yet: it is buffered, or it was heart-beats.
 */
function expectAnswered(
  decoded: Decoded<StompState, StompTag>,
  input: string | ArrayBuffer,
  before: StompState,
): void {
  const frames = decoded.replies.flatMap(serverFrames);
  if (decoded.close && decoded.close.code !== 1000) {
    expect(frames.at(-1)?.command).toBe("ERROR");
    expect(decoded.commands).toEqual([]);
    expect(decoded.state.phase).toBe("closed");
    return;
  }
  for (const frame of frames) expect(frame.command).toBe("RECEIPT");
  for (const { command } of decoded.commands) {
    if (command.kind === "send") expect(jsonBoundsIssue(command.draft.data)).toBeNull();
  }
  const silent = decoded.commands.length === 0 && frames.length === 0 && !decoded.close;
  if (silent && before.phase === "greeting") {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    const heartBeats = /^[\r\n]*$/.test(text);
    const buffered = decoded.state.partial !== "" || decoded.state.partialBytes.length > 0;
    expect(heartBeats || buffered).toBe(true);
  }
}

const sessions = fc.constantFrom(
  { state: greeting, ctx: context(null) },
  { state: connected, ctx: context(ALICE) },
);

/** Client frames with arbitrary commands, headers and bodies, so the scanner gets past the command line. */
const clientFrame = fc
  .record({
    command: fc.oneof(
      fc.constantFrom("CONNECT", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "DISCONNECT", "ACK"),
      fc.string(),
    ),
    headers: fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 80 }),
    body: anyText,
  })
  .map(
    ({ command, headers, body }) =>
      `${command}\n${headers.map(([n, v]) => `${n}:${v}`).join("\n")}\n\n${body}\0`,
  );

const SEND_FIELDS = ["channel_key", "user", "message_type", "message", "custom_type", "data"];
const validBody = { channel_key: ROOM, user: { id: "alice" }, message_type: "MESSAGE", message: "hi" };

const sendFrame = (body: string) =>
  formatFrame(
    {
      command: "SEND",
      headers: [
        ["destination", "/app/chat"],
        ["content-type", "application/json"],
      ],
      body,
    },
    "1.2",
  );

describe("STOMP codec fuzzing", () => {
  it("answers arbitrary text without throwing, before and after CONNECT", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, clientFrame), sessions, (text, { state, ctx }) => {
        const before = state();
        expectAnswered(stompCodec.decode(before, text, ctx), text, before);
      }),
      FUZZ,
    );
  });

  it("answers arbitrary bytes without throwing, before and after CONNECT", () => {
    fc.assert(
      fc.property(anyBytes, sessions, (bytes, { state, ctx }) => {
        const before = state();
        expectAnswered(stompCodec.decode(before, bytes, ctx), bytes, before);
      }),
      FUZZ,
    );
  });

  it("refuses every binary message that is not UTF-8 with ERROR", () => {
    const corrupt = corruptUtf8("SEND\ndestination:/app/chat\n\n", "\0");
    fc.assert(
      fc.property(corrupt, (bytes) => {
        const decoded = stompCodec.decode(connected(), bytes, context(ALICE));
        expect(decoded.commands).toEqual([]);
        expect(decoded.replies.flatMap(serverFrames).at(-1)?.command).toBe("ERROR");
      }),
      FUZZ,
    );
  });

  it("answers every complete SEND with arbitrary, deep or wide body fields: one send, or ERROR", () => {
    fc.assert(
      fc.property(fieldsOver(validBody, SEND_FIELDS), (body) => {
        const before = connected();
        const decoded = stompCodec.decode(before, sendFrame(JSON.stringify(body)), context(ALICE));
        expectAnswered(decoded, "", before);
        expect(decoded.commands.length === 1 || decoded.close !== undefined).toBe(true);
      }),
      FUZZ,
    );
  });

  it("ignores whatever a closed session still receives", () => {
    const closed = stompCodec.decode(greeting(), "NOPE\n\n\0", context(null)).state;
    fc.assert(
      fc.property(fc.oneof(anyText, clientFrame), (text) => {
        expect(stompCodec.decode(closed, text, context(null))).toEqual({
          state: closed,
          commands: [],
          replies: [],
        });
      }),
      FUZZ,
    );
  });

  it("decodes every well-formed SEND into the message and data it carries", () => {
    const message = fc.record({ text: fc.string({ maxLength: 200 }), data: fc.jsonValue({ maxDepth: 6 }) });
    fc.assert(
      fc.property(message, ({ text, data }) => {
        const body = JSON.stringify({ ...validBody, message: text, data });
        const [tagged] = stompCodec.decode(connected(), sendFrame(body), context(ALICE)).commands;
        expect(tagged?.command).toMatchObject({
          kind: "send",
          room: ROOM,
          draft: { text, data: JSON.parse(JSON.stringify(data)) },
        });
      }),
      FUZZ,
    );
  });

  // CONNECTED is written unescaped, for 1.0 clients that read it before a version is agreed; the others escape.
  it("reads back every escaped frame it writes in STOMP 1.2, headers and body unchanged", () => {
    const header = fc.tuple(
      fc.string({ minLength: 1 }).filter((name) => !name.includes("\0") && name !== "content-length"),
      fc.string().filter((value) => !value.includes("\0")),
    );
    const frame = fc.record({
      command: fc.constantFrom("MESSAGE", "RECEIPT", "ERROR"),
      headers: fc.uniqueArray(header, { selector: ([name]) => name, maxLength: 10 }),
      body: fc.string(),
    });
    fc.assert(
      fc.property(frame, (written) => {
        const [read] = serverFrames(formatFrame(written, "1.2"));
        if (!read) throw new Error("no frame read back");
        const headers = readHeaders(read, "1.2");
        if (!headers.ok) throw new Error(headers.error);
        expect(read.command).toBe(written.command);
        expect(read.body).toBe(written.body);
        for (const [name, value] of written.headers) expect(headers.headers.get(name)).toBe(value);
      }),
      FUZZ,
    );
  });
});
