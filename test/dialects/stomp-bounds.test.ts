import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import { MAX_HEADERS, type StompState, stompCodec } from "../../src/dialects/stomp/codec";
import { formatFrame, readHeaders, SERVER_COMMANDS, scanFrames } from "../../src/dialects/stomp/frame";
import { CloseCode } from "../../src/domain/close-codes";
import type { CommandOutcome } from "../../src/domain/commands";
import type { Profile } from "../../src/domain/model";
import { deepArrayText, nested } from "../helpers/deep-json";

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

const wire = (command: string, headers: Record<string, string>, body = "") =>
  formatFrame({ command, headers: Object.entries(headers), body }, null);

/** A session through CONNECT and its successful answer. */
function connected(): StompState {
  const connect = wire("CONNECT", { "accept-version": "1.2", token: "jwt" });
  const decoded = stompCodec.decode(stompCodec.initialState(context(null)), connect, context(null));
  const [tagged] = decoded.commands;
  if (!tagged) throw new Error(`CONNECT was refused: ${decoded.replies}`);
  const outcome: CommandOutcome = { ok: true, value: { kind: "auth", user: ALICE, expires_at: null } };
  return stompCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, context(ALICE)).state;
}

const sendBody = (data: unknown) =>
  JSON.stringify({ channel_key: ROOM, user: { id: "alice" }, message_type: "MESSAGE", message: "hi", data });

const send = (body: string) =>
  stompCodec.decode(
    connected(),
    wire("SEND", { destination: "/app/chat", "content-type": "application/json" }, body),
    context(ALICE),
  );

/** The ERROR frame's `message` header; the session must be closed with 4010 and nothing decoded. */
function refusal(decoded: ReturnType<typeof send>): string | undefined {
  expect(decoded.commands).toEqual([]);
  expect(decoded.close?.code).toBe(CloseCode.BadMessageStructure);
  const scan = scanFrames(decoded.replies.at(-1) ?? "", 1 << 20, SERVER_COMMANDS);
  const error = scan.frames.at(-1);
  expect(error?.command).toBe("ERROR");
  const read = error ? readHeaders(error, "1.2") : null;
  return read?.ok ? read.headers.get("message") : undefined;
}

describe("STOMP decode bounds", () => {
  it("accepts data 32 levels deep and refuses 33 with an ERROR frame", () => {
    const accepted = send(sendBody(nested(32)));
    expect(accepted.commands).toHaveLength(1);
    expect(refusal(send(sendBody(nested(33))))).toBe("data: nested deeper than 32 levels");
  });

  it("refuses the probe's 3,400-level data and a body of nested brackets", () => {
    const deepData = `{"channel_key":"${ROOM}","user":{"id":"alice"},"message_type":"MESSAGE","message":"hi","data":${deepArrayText(3400)}}`;
    expect(refusal(send(deepData))).toBe("body: nested deeper than 64 levels");
    expect(refusal(send(deepArrayText(30_000)))).toBe("body: nested deeper than 64 levels");
    expect(refusal(send("[".repeat(60_000)))).toBe("the body is not JSON");
  });

  it("bounds keys, items and strings inside data", () => {
    const keys = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]));
    expect(refusal(send(sendBody(keys)))).toBe("data: an object has more than 256 keys");
    expect(refusal(send(sendBody(new Array(1025).fill(0))))).toBe("data: an array has more than 1024 items");
    expect(refusal(send(sendBody("x".repeat(16_385))))).toBe(
      "data: a string is longer than 16384 characters",
    );
  });

  it(`refuses a frame with more than ${MAX_HEADERS} headers`, () => {
    const headers = Object.fromEntries(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => [`h${i}`, "v"]));
    const decoded = stompCodec.decode(connected(), wire("SUBSCRIBE", headers), context(ALICE));
    expect(refusal(decoded)).toBe(`a frame has at most ${MAX_HEADERS} headers`);
  });
});
