import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Close, SessionContext } from "../../src/dialects/codec";
import { MAX_JSON_DEPTH, nestsWithin, swappartCodec } from "../../src/dialects/swappart/codec";
import { CloseCode } from "../../src/domain/close-codes";
import type { CommandOutcome } from "../../src/domain/commands";
import type { ChatError, ErrorCode } from "../../src/domain/errors";
import { closeReason } from "../../src/domain/errors";
import type { ChatEvent } from "../../src/domain/events";
import type { Message, Profile, RoomBrief } from "../../src/domain/model";
import { seedMessage } from "../helpers/seed-001";

const ALICE: Profile = { id: "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f", name: null, avatar: null };
const BOB: Profile = { id: "0b7e4c1d-2f3a-4b5c-8d9e-1f2a3b4c5d6e", name: "bob", avatar: null };
const ROOM: RoomBrief = { key: "r_apartment12", number: 12, kind: "group", private: false, epoch: "e1" };

function context(user: Profile | null = ALICE, maxFrameBytes = 65_536): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room: null,
    maxFrameBytes,
    now: () => new Date("2026-01-01T00:00:00.000Z"),
    roomInfo: (key) => (key === ROOM.key ? ROOM : null),
  };
}

const sendFrame = (data: Record<string, unknown>) => JSON.stringify({ type: "SendMessage", data });
const validSend = { room_id: 12, message: "Is the flat still free?", message_temp_id: "tmp-1" };

const decode = (frame: string | ArrayBuffer, ctx = context()) => swappartCodec.decode(null, frame, ctx);

/** What the host sends for a close: the answer's frames, then the codec's close frames, then the close. */
function wire(frames: string[], close: Close | undefined): unknown[] {
  const before = close ? swappartCodec.closeFrames?.(null, close, context()) : [];
  return [...frames, ...(before ?? [])].map((f) => JSON.parse(f));
}

function answer(outcome: CommandOutcome) {
  const [tagged] = decode(sendFrame(validSend)).commands;
  if (!tagged) throw new Error("the valid frame decoded no command");
  return swappartCodec.encodeOutcome(null, tagged.tag, tagged.command, outcome, context());
}

const refused = (code: ErrorCode, extra: Partial<ChatError> = {}): CommandOutcome => ({
  ok: false,
  error: { code, message: `refused: ${code}`, ...extra },
});

function sent(duplicate: boolean): CommandOutcome {
  const message = seedMessage({ room: ROOM.key, sender: ALICE, temp_id: "tmp-1" });
  const ack = {
    temp_id: "tmp-1",
    id: message.id,
    seq: message.seq,
    epoch: "e1",
    created_at: message.created_at,
    duplicate,
  };
  return { ok: true, value: { kind: "sent", room: ROOM.key, ack, message } };
}

const messageEvent = (over: Partial<Message>): ChatEvent => {
  const message = seedMessage({ room: ROOM.key, sender: BOB, text: "Yes, come by on Monday", ...over });
  return { type: "message", room: message.room, seq: message.seq, at: message.created_at, message };
};

const encode = (event: ChatEvent, user: Profile | null = ALICE) =>
  swappartCodec.encodeEvent(null, event, context(user)).map((f) => JSON.parse(f));

describe("swappart session shape", () => {
  it("is a URL-authenticated user socket at / following every room of its user, with no subprotocol", () => {
    expect(swappartCodec.endpoints).toEqual([{ path: "/", scope: "user" }]);
    expect(swappartCodec.auth).toBe("url");
    expect(swappartCodec.initialFollows).toEqual(["rooms"]);
    expect(swappartCodec.chooseSubprotocol([])).toBeNull();
    expect(swappartCodec.chooseSubprotocol(["graphql-ws", "v12.stomp"])).toBeNull();
    expect(swappartCodec.idleLimitMs(null)).toBeNull();
    expect(swappartCodec.batch(["a", "b"])).toEqual(["a", "b"]);
  });
});

describe("swappart SendMessage", () => {
  it("decodes into a send to the room's number, keyed by the client's temp id", () => {
    expect(decode(sendFrame(validSend))).toEqual({
      state: null,
      commands: [
        {
          command: {
            kind: "send",
            room: { number: 12 },
            draft: { temp_id: "tmp-1", text: "Is the flat still free?" },
          },
          tag: { temp_id: "tmp-1" },
        },
      ],
      replies: [],
    });
  });

  it("reads a frame sent as binary UTF-8 and ignores fields it does not know", () => {
    const frame = JSON.stringify({ type: "SendMessage", data: { ...validSend, extra: 1 }, v: 2 });
    const decoded = decode(new TextEncoder().encode(frame).buffer as ArrayBuffer);
    expect(decoded.commands).toHaveLength(1);
    expect(decoded.close).toBeUndefined();
  });

  it.each([false, true])("confirms a stored message (duplicate: %s), echoing the temp id", (duplicate) => {
    const { frames, close } = answer(sent(duplicate));
    expect(wire(frames, close)).toEqual([
      { type: "MessageSentConfirmation", data: { confirmed: true, reason: "", message_id: "tmp-1" } },
    ]);
  });

  it.each(["bad_request", "payload_too_large", "rate_limited", "conflict"] as const)(
    "refuses a send the room declined (%s) and keeps the session",
    (code) => {
      const { frames, close } = answer(refused(code));
      expect(close).toBeUndefined();
      expect(wire(frames, close)).toEqual([
        {
          type: "MessageSentConfirmation",
          data: { confirmed: false, reason: `refused: ${code}`, message_id: "tmp-1" },
        },
      ]);
    },
  );

  it.each([
    ["forbidden", CloseCode.UnauthorizedAction],
    ["not_found", CloseCode.UnauthorizedAction],
    ["content_refused", CloseCode.HatefulSpeech],
    ["internal", CloseCode.ServerError],
    ["invalid_token", CloseCode.InvalidToken],
    ["token_expired", CloseCode.InvalidToken],
    ["unauthorized", CloseCode.InvalidToken],
  ] as const)("answers %s with a refusal, then Disconnection and close %i", (code, closeCode) => {
    const { frames, close } = answer(refused(code));
    expect(close?.code).toBe(closeCode);
    expect(wire(frames, close)).toEqual([
      {
        type: "MessageSentConfirmation",
        data: { confirmed: false, reason: `refused: ${code}`, message_id: "tmp-1" },
      },
      { type: "Disconnection", data: { code: closeCode, reason: close?.reason } },
    ]);
  });

  it("keeps the session when the content policy refuses without asking for a close", () => {
    const { frames, close } = answer(refused("content_refused", { close: false }));
    expect(close).toBeUndefined();
    expect(frames).toHaveLength(1);
  });

  it("closes 4001 when the host somehow hosts it without a user", () => {
    const decoded = decode(sendFrame(validSend), context(null));
    expect(decoded.commands).toEqual([]);
    expect(decoded.close?.code).toBe(CloseCode.NoAuthToken);
  });
});

describe("swappart bad message structure", () => {
  const malformed: [string, string | ArrayBuffer][] = [
    ["not JSON", "{type: SendMessage}"],
    ["empty", ""],
    ["JSON but not an object", "[1,2]"],
    ["a number", "42"],
    ["no type", JSON.stringify({ data: validSend })],
    ["unknown type", JSON.stringify({ type: "DeleteMessage", data: validSend })],
    ["type in another case", JSON.stringify({ type: "sendmessage", data: validSend })],
    ["no data", JSON.stringify({ type: "SendMessage" })],
    ["data not an object", JSON.stringify({ type: "SendMessage", data: "hi" })],
    ["room_id as a string", sendFrame({ ...validSend, room_id: "12" })],
    ["room_id fractional", sendFrame({ ...validSend, room_id: 1.5 })],
    ["room_id zero", sendFrame({ ...validSend, room_id: 0 })],
    ["room_id beyond a safe integer", sendFrame({ ...validSend, room_id: 2 ** 60 })],
    ["message missing", sendFrame({ room_id: 12, message_temp_id: "t" })],
    ["message not a string", sendFrame({ ...validSend, message: 7 })],
    ["temp id empty", sendFrame({ ...validSend, message_temp_id: "" })],
    ["temp id a number", sendFrame({ ...validSend, message_temp_id: 5 })],
    ["temp id too long", sendFrame({ ...validSend, message_temp_id: "x".repeat(129) })],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]).buffer as ArrayBuffer],
    ["too deep", `${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`],
  ];

  it.each(malformed)("answers %s with Disconnection then close 4010", (_name, frame) => {
    const decoded = decode(frame);
    expect(decoded.commands).toEqual([]);
    expect(decoded.replies).toEqual([]);
    expect(decoded.close?.code).toBe(CloseCode.BadMessageStructure);
    expect(wire(decoded.replies, decoded.close)).toEqual([
      { type: "Disconnection", data: { code: 4010, reason: decoded.close?.reason } },
    ]);
  });

  it("refuses a frame larger than the host's limit", () => {
    const decoded = decode(sendFrame({ ...validSend, message: "é".repeat(600) }), context(ALICE, 1000));
    expect(decoded.close).toEqual({
      code: CloseCode.BadMessageStructure,
      reason: "Bad message structure: frame is larger than 1000 bytes",
    });
  });

  it("counts nesting outside strings only", () => {
    expect(nestsWithin('{"a":[[1]]}', 3)).toBe(true);
    expect(nestsWithin('{"a":[[1]]}', 2)).toBe(false);
    expect(nestsWithin(`{"a":"${"[".repeat(100)}"}`, 1)).toBe(true);
    expect(nestsWithin(`{"a":"\\"${"{".repeat(100)}"}`, 1)).toBe(true);
  });
});

describe("swappart decode properties", () => {
  const isWellFormedSend = (json: unknown): boolean => {
    if (typeof json !== "object" || json === null || Array.isArray(json)) return false;
    const frame = json as { type?: unknown; data?: unknown };
    const data = frame.data as Record<string, unknown> | null;
    return (
      frame.type === "SendMessage" &&
      typeof data === "object" &&
      data !== null &&
      !Array.isArray(data) &&
      Number.isSafeInteger(data.room_id) &&
      (data.room_id as number) >= 1 &&
      typeof data.message === "string" &&
      typeof data.message_temp_id === "string" &&
      data.message_temp_id.length >= 1 &&
      data.message_temp_id.length <= 128
    );
  };

  /** Every decode either yields exactly one send or closes 4010 with nothing else. */
  function checkDecoded(frame: string | ArrayBuffer, expectSend: boolean) {
    const decoded = decode(frame);
    if (expectSend) {
      expect(decoded.commands).toHaveLength(1);
      expect(decoded.close).toBeUndefined();
    } else {
      expect(decoded.commands).toEqual([]);
      expect(decoded.replies).toEqual([]);
      expect(decoded.close?.code).toBe(CloseCode.BadMessageStructure);
    }
  }

  it("never throws on arbitrary text, and closes 4010 on anything that is not a SendMessage", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (text) => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        checkDecoded(text, isWellFormedSend(json) && nestsWithin(text, MAX_JSON_DEPTH));
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decode(bytes.buffer as ArrayBuffer);
        expect(decoded.commands.length + (decoded.close ? 1 : 0)).toBe(1);
      }),
      { numRuns: 500 },
    );
  });

  it("sorts arbitrary JSON values and near-miss frames into sends and 4010 closes", () => {
    const nearMiss = fc.record(
      {
        type: fc.oneof(fc.constant("SendMessage"), fc.string(), fc.jsonValue()),
        data: fc.oneof(
          fc.record(
            {
              room_id: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
              message: fc.oneof(fc.string(), fc.integer()),
              message_temp_id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 40 }), nearMiss), (json) => {
        const text = JSON.stringify(json) ?? "";
        checkDecoded(text, isWellFormedSend(JSON.parse(text || "null")) && nestsWithin(text, MAX_JSON_DEPTH));
      }),
      { numRuns: 1000 },
    );
  });

  it("carries any well-formed send through unchanged", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.string(),
        fc.string({ minLength: 1, maxLength: 128 }),
        (room_id, message, message_temp_id) => {
          const [tagged] = decode(sendFrame({ room_id, message, message_temp_id })).commands;
          expect(tagged).toEqual({
            command: {
              kind: "send",
              room: { number: room_id },
              draft: { temp_id: message_temp_id, text: message },
            },
            tag: { temp_id: message_temp_id },
          });
        },
      ),
    );
  });
});

describe("swappart MessageReceived", () => {
  it("shows another participant's message with the room's number and the sender's id", () => {
    expect(encode(messageEvent({}))).toEqual([
      {
        type: "MessageReceived",
        data: { room_id: 12, sender_id: BOB.id, message: "Yes, come by on Monday" },
      },
    ]);
  });

  it("does not echo the user's own messages: the sender has its confirmation", () => {
    expect(encode(messageEvent({ sender: ALICE }))).toEqual([]);
  });

  it("leaves out what Swappart cannot show: whispers to others, commands, tombstones, unknown rooms", () => {
    expect(encode(messageEvent({ to: BOB.id, sender: { ...BOB, id: "someone-else" } }))).toEqual([]);
    expect(encode(messageEvent({ type: "command" }))).toEqual([]);
    expect(encode(messageEvent({ deleted_at: "2026-01-01T00:00:01.000Z", text: "" }))).toEqual([]);
    expect(encode(messageEvent({ room: "r_unknown" }))).toEqual([]);
    expect(encode(messageEvent({}), null)).toEqual([]);
  });

  it("shows a whisper addressed to the user", () => {
    expect(encode(messageEvent({ to: ALICE.id }))).toHaveLength(1);
  });

  it("has no frame for other events", () => {
    const events: ChatEvent[] = [
      { type: "typing", room: ROOM.key, user: BOB, typing: true, at: "2026-01-01T00:00:00.000Z" },
      { type: "room_deleted", room: ROOM.key, seq: 9, at: "2026-01-01T00:00:00.000Z" },
      { type: "presence", user_id: BOB.id, online: true, last_seen: null, at: "2026-01-01T00:00:00.000Z" },
      { type: "room_removed", room: ROOM.key, reason: "removed" },
    ];
    for (const event of events) expect(encode(event)).toEqual([]);
  });
});

describe("swappart Disconnection", () => {
  it.each(Object.values(CloseCode))("renders close %i with its code and reason", (code) => {
    const frames = swappartCodec.closeFrames?.(null, { code, reason: "why" }, context()) ?? [];
    expect(frames.map((f) => JSON.parse(f))).toEqual([
      { type: "Disconnection", data: { code, reason: "why" } },
    ]);
  });

  it("cuts close reasons to 123 bytes on a character boundary", () => {
    expect(closeReason("short")).toBe("short");
    const cut = closeReason("é".repeat(100));
    expect(new TextEncoder().encode(cut).byteLength).toBeLessThanOrEqual(123);
    expect(cut).toBe("é".repeat(61));
  });
});
