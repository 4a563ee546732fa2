import { describe, expect, it } from "vitest";
import type { Decoded, SessionContext } from "../../src/dialects/codec";
import {
  chooseStompSubprotocol,
  MAX_PARTIAL_FRAME_BYTES,
  type StompState,
  type StompTag,
  stompCodec,
} from "../../src/dialects/stomp/codec";
import {
  formatFrame,
  readHeaders,
  SERVER_COMMANDS,
  type StompVersion,
  scanFrames,
} from "../../src/dialects/stomp/frame";
import { CloseCode } from "../../src/domain/close-codes";
import type { Command, CommandOutcome } from "../../src/domain/commands";
import type { ErrorCode } from "../../src/domain/errors";
import type { ChatEvent } from "../../src/domain/events";
import type { Message, Profile } from "../../src/domain/model";

const ROOM = "room-1";
const ALICE: Profile = { id: "alice", name: "Alice", avatar: "https://example.com/alice.png" };
const BOB: Profile = { id: "bob", name: null, avatar: null };
const CAROL: Profile = { id: "carol", name: "Carol", avatar: null };

function context(user: Profile | null, room: string | null = ROOM, maxFrameBytes = 4096): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room,
    maxFrameBytes,
    now: () => new Date("2026-01-01T00:00:00Z"),
    roomInfo: () => null,
  };
}

type Headers = Record<string, string>;

/** A client frame as stompjs writes it: escaped once 1.1 or 1.2 is agreed, never in CONNECT. */
const wire = (command: string, headers: Headers, body = "", version: StompVersion | null = "1.2") =>
  formatFrame({ command, headers: Object.entries(headers), body }, version);

interface ServerFrame {
  command: string;
  headers: Map<string, string>;
  body: string;
}

/** Reads server frames back the way stompjs does: escapes undone only once 1.2 is agreed. */
function parse(message: string | undefined, version: StompVersion | null = "1.2"): ServerFrame[] {
  const scan = scanFrames(message ?? "", 1 << 20, SERVER_COMMANDS);
  if (scan.error) throw new Error(scan.error.message);
  return scan.frames.map((frame) => {
    const read = readHeaders(frame, version === "1.2" ? version : null);
    if (!read.ok) throw new Error(read.error);
    return { command: frame.command, headers: read.headers, body: frame.body };
  });
}

function only(message: string | undefined, version: StompVersion | null = "1.2"): ServerFrame {
  const frames = parse(message, version);
  expect(frames).toHaveLength(1);
  return frames[0] as ServerFrame;
}

const fresh = (): StompState => stompCodec.initialState(context(null));

const decode = (state: StompState, data: string | ArrayBuffer, ctx = context(ALICE)) =>
  stompCodec.decode(state, data, ctx);

const authOk = (user: Profile): CommandOutcome => ({
  ok: true,
  value: { kind: "auth", user, expires_at: null },
});

const failure = (code: ErrorCode, message = "refused: by host", retry_after?: number): CommandOutcome => ({
  ok: false,
  error: retry_after === undefined ? { code, message } : { code, message, retry_after },
});

function single(decoded: Decoded<StompState, StompTag>): { command: Command; tag: StompTag } {
  expect(decoded.commands).toHaveLength(1);
  return decoded.commands[0] as { command: Command; tag: StompTag };
}

const CONNECT_HEADERS: Headers = {
  "accept-version": "1.2,1.1,1.0",
  "heart-beat": "25000,10000",
  token: "jwt-token",
  appid: "app-1",
  userid: "alice",
  username: "Alice",
};

/** A session through CONNECT and its successful answer. */
function connected(user: Profile = ALICE, headers: Headers = CONNECT_HEADERS, room: string | null = ROOM) {
  const decoded = stompCodec.decode(fresh(), wire("CONNECT", headers), context(null, room));
  const { command, tag } = single(decoded);
  const answer = stompCodec.encodeOutcome(decoded.state, tag, command, authOk(user), context(user, room));
  return answer.state;
}

/** Decodes one frame that yields one command and answers it. */
function roundTrip(state: StompState, frame: string, outcome: CommandOutcome, ctx = context(ALICE)) {
  const decoded = decode(state, frame, ctx);
  const { command, tag } = single(decoded);
  const answer = stompCodec.encodeOutcome(decoded.state, tag, command, outcome, ctx);
  return { decoded, command, answer };
}

function subscribed(state: StompState, id: string, destination: string, ctx = context(ALICE)): StompState {
  const decoded = decode(state, wire("SUBSCRIBE", { id, destination }), ctx);
  expect(decoded.close).toBeUndefined();
  return decoded.state;
}

/** Asserts the decode ended the session with ERROR carrying `message` and the close `code`. */
function expectRefusal(decoded: Decoded<StompState, StompTag>, code: number, message?: string) {
  expect(decoded.commands).toEqual([]);
  expect(decoded.close?.code).toBe(code);
  expect(decoded.state.phase).toBe("closed");
  const error = parse(decoded.replies.at(-1), decoded.state.version).at(-1);
  expect(error?.command).toBe("ERROR");
  if (message !== undefined) expect(error?.headers.get("message")).toBe(message);
  return error as ServerFrame;
}

const sendBody = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    channel_key: ROOM,
    user: { id: "alice", username: "beauty", avatar: "https://example.com/me.jpg" },
    message_type: "MESSAGE",
    message: "this is test message",
    custom_type: "MSG",
    data: "",
    ...over,
  });

const sendFrame = (over: Record<string, unknown> = {}, headers: Headers = {}, destination = "/app/chat") =>
  wire("SEND", { destination, "content-type": "application/json", ...headers }, sendBody(over));

function message(over: Partial<Message> = {}): Message {
  return {
    id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    room: ROOM,
    seq: 7,
    sender: BOB,
    type: "text",
    text: "hi all",
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    temp_id: "t-1",
    created_at: "2023-03-25T23:18:22.123Z",
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: 7,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...over,
  };
}

const messageEvent = (over: Partial<Message> = {}): ChatEvent => ({
  type: "message",
  room: ROOM,
  seq: 7,
  at: "2023-03-25T23:18:22.123Z",
  message: message(over),
});

describe("chooseStompSubprotocol", () => {
  it("picks the highest STOMP version the client offered", () => {
    expect(chooseStompSubprotocol(["v10.stomp", "v11.stomp", "v12.stomp"])).toBe("v12.stomp");
    expect(chooseStompSubprotocol(["v10.stomp", " v11.stomp "])).toBe("v11.stomp");
    expect(chooseStompSubprotocol(["graphql-ws", "v10.stomp"])).toBe("v10.stomp");
  });

  it("gives null when no STOMP subprotocol is offered", () => {
    expect(chooseStompSubprotocol([])).toBeNull();
    expect(chooseStompSubprotocol(["parley.v1", "V12.STOMP"])).toBeNull();
  });
});

describe("CONNECT", () => {
  it("becomes an auth command carrying the token, the expected user id, the app id and the display name", () => {
    const decoded = stompCodec.decode(fresh(), wire("CONNECT", CONNECT_HEADERS), context(null));
    expect(single(decoded)).toEqual({
      command: {
        kind: "auth",
        token: "jwt-token",
        expectUserId: "alice",
        appId: "app-1",
        name: CONNECT_HEADERS.username,
      },
      tag: { frame: "CONNECT" },
    });
    expect(decoded.replies).toEqual([]);
    expect(decoded.state.phase).toBe("authenticating");
  });

  it("accepts the STOMP command, needs no host header, and leaves userid and appid out when absent", () => {
    const decoded = stompCodec.decode(
      fresh(),
      wire("STOMP", { "accept-version": "1.2", token: "t" }),
      context(null),
    );
    expect(single(decoded).command).toEqual({ kind: "auth", token: "t" });
  });

  it("does not unescape CONNECT headers", () => {
    const decoded = stompCodec.decode(
      fresh(),
      "CONNECT\naccept-version:1.2\ntoken:a\\cb:c\n\n\0",
      context(null),
    );
    expect(single(decoded).command).toEqual({ kind: "auth", token: "a\\cb:c" });
  });

  it("answers a successful auth with CONNECTED: version, heart-beat, server, session and user-name", () => {
    const decoded = stompCodec.decode(fresh(), wire("CONNECT", CONNECT_HEADERS), context(null));
    const { command, tag } = single(decoded);
    const answer = stompCodec.encodeOutcome(decoded.state, tag, command, authOk(ALICE), context(ALICE));
    expect(answer.close).toBeUndefined();
    expect(answer.state.phase).toBe("connected");
    const frame = only(answer.frames[0]);
    expect(frame.command).toBe("CONNECTED");
    expect([...frame.headers]).toEqual([
      ["version", "1.2"],
      ["heart-beat", "0,25000"],
      ["server", "Parley"],
      ["session", "sess-1"],
      ["user-name", "alice"],
    ]);
  });

  it("negotiates the highest common version", () => {
    const versionOf = (accept: string) => {
      const state = connected(ALICE, { ...CONNECT_HEADERS, "accept-version": accept });
      return state.version;
    };
    expect(versionOf("1.0,1.1")).toBe("1.1");
    expect(versionOf("1.1, 1.2")).toBe("1.2");
    expect(versionOf("1.0")).toBe("1.0");
    expect(versionOf("1.0,2.0")).toBe("1.0");
  });

  it("speaks 1.0 to a client that sends no accept-version, without heart-beating", () => {
    const decoded = stompCodec.decode(
      fresh(),
      wire("CONNECT", { token: "t", "heart-beat": "oops" }),
      context(null),
    );
    const { command, tag } = single(decoded);
    const answer = stompCodec.encodeOutcome(decoded.state, tag, command, authOk(ALICE), context(ALICE));
    const frame = only(answer.frames[0], null);
    expect(frame.headers.get("version")).toBe("1.0");
    expect(frame.headers.has("heart-beat")).toBe(false);
    expect(stompCodec.idleLimitMs(answer.state)).toBeNull();
  });

  it("asks for beats at the client's pace and sends none: stompjs then pings every cx and never times out", () => {
    const beatOf = (heartBeat: string | undefined) => {
      const headers: Headers = { "accept-version": "1.2", token: "t" };
      if (heartBeat !== undefined) headers["heart-beat"] = heartBeat;
      const decoded = stompCodec.decode(fresh(), wire("CONNECT", headers), context(null));
      const { command, tag } = single(decoded);
      const answer = stompCodec.encodeOutcome(decoded.state, tag, command, authOk(ALICE), context(ALICE));
      return {
        header: only(answer.frames[0]).headers.get("heart-beat"),
        idle: stompCodec.idleLimitMs(answer.state),
      };
    };
    expect(beatOf("10000,10000")).toEqual({ header: "0,10000", idle: 90_000 });
    expect(beatOf("60000,0")).toEqual({ header: "0,60000", idle: 180_000 });
    expect(beatOf("0,5000")).toEqual({ header: "0,0", idle: null });
    expect(beatOf(undefined)).toEqual({ header: "0,0", idle: null });
  });

  it("sets no idle limit before the session is connected", () => {
    expect(stompCodec.idleLimitMs(fresh())).toBeNull();
    const decoded = stompCodec.decode(fresh(), wire("CONNECT", CONNECT_HEADERS), context(null));
    expect(stompCodec.idleLimitMs(decoded.state)).toBeNull();
  });

  it("refuses a missing or empty token with ERROR and close 4001", () => {
    const { token: _, ...noToken } = CONNECT_HEADERS;
    expectRefusal(
      stompCodec.decode(fresh(), wire("CONNECT", noToken), context(null)),
      CloseCode.NoAuthToken,
      "the token header is required",
    );
    expectRefusal(
      stompCodec.decode(fresh(), wire("CONNECT", { ...CONNECT_HEADERS, token: "" }), context(null)),
      CloseCode.NoAuthToken,
    );
  });

  it("refuses a client with no common version, listing the server's versions", () => {
    const decoded = stompCodec.decode(
      fresh(),
      wire("CONNECT", { "accept-version": "2.0", token: "t" }),
      context(null),
    );
    const error = expectRefusal(decoded, CloseCode.BadMessageStructure, "no common STOMP version");
    expect(error.headers.get("version")).toBe("1.2,1.1,1.0");
  });

  it("refuses a malformed heart-beat", () => {
    for (const heartBeat of ["10000", "a,b", "-1,0", "1,2,3"]) {
      const decoded = stompCodec.decode(
        fresh(),
        wire("CONNECT", { ...CONNECT_HEADERS, "heart-beat": heartBeat }),
        context(null),
      );
      expectRefusal(decoded, CloseCode.BadMessageStructure, "heart-beat must be two millisecond counts");
    }
  });

  it("answers a refused auth with an unescaped ERROR, then close by the error's code", () => {
    const cases: [ErrorCode, number][] = [
      ["unauthorized", CloseCode.NoAuthToken],
      ["invalid_token", CloseCode.InvalidToken],
      ["token_expired", CloseCode.InvalidToken],
      ["forbidden", CloseCode.UnauthorizedAction],
      ["internal", CloseCode.ServerError],
    ];
    for (const [code, close] of cases) {
      const decoded = stompCodec.decode(fresh(), wire("CONNECT", CONNECT_HEADERS), context(null));
      const { command, tag } = single(decoded);
      const answer = stompCodec.encodeOutcome(decoded.state, tag, command, failure(code), context(null));
      expect(answer.close?.code).toBe(close);
      expect(answer.state.phase).toBe("closed");
      const error = only(answer.frames[0], null);
      expect(error.command).toBe("ERROR");
      expect(error.headers.get("message")).toBe("refused: by host");
      expect(error.body).toBe(code);
    }
  });

  it("refuses every other frame before CONNECT with close 4001", () => {
    const frames = [
      wire("SUBSCRIBE", { id: "sub-0", destination: `/topic/chat/${ROOM}` }),
      sendFrame(),
      wire("UNSUBSCRIBE", { id: "sub-0" }),
      wire("DISCONNECT", { receipt: "r" }),
    ];
    for (const frame of frames) {
      expectRefusal(stompCodec.decode(fresh(), frame, context(null)), CloseCode.NoAuthToken, "CONNECT first");
    }
  });

  it("refuses frames that arrive while CONNECT is being verified, dropping the auth command", () => {
    const frames =
      wire("CONNECT", CONNECT_HEADERS) + wire("SUBSCRIBE", { id: "s", destination: `/topic/chat/${ROOM}` });
    expectRefusal(stompCodec.decode(fresh(), frames, context(null)), CloseCode.NoAuthToken, "CONNECT first");
  });

  it("refuses a second CONNECT", () => {
    expectRefusal(
      decode(connected(), wire("CONNECT", CONNECT_HEADERS)),
      CloseCode.BadMessageStructure,
      "already connected",
    );
  });
});

describe("SUBSCRIBE and UNSUBSCRIBE", () => {
  it("subscribes to the room's chat topic, with the RECEIPT only once the host has answered", () => {
    const frame = wire("SUBSCRIBE", { id: "sub-0", destination: `/topic/chat/${ROOM}`, receipt: "r-1" });
    const { decoded, command, answer } = roundTrip(connected(), frame, {
      ok: true,
      value: { kind: "subscribed", room: ROOM, head: 7, epoch: "e1" },
    });
    expect(command).toEqual({ kind: "subscribe", room: ROOM, since: null });
    expect(decoded.replies).toEqual([]);
    expect(only(answer.frames[0]).headers.get("receipt-id")).toBe("r-1");
  });

  it("sends no RECEIPT when none was asked", () => {
    const frame = wire("SUBSCRIBE", { id: "sub-0", destination: `/topic/chat/${ROOM}` });
    const { answer } = roundTrip(connected(), frame, {
      ok: true,
      value: { kind: "subscribed", room: ROOM, head: 0, epoch: "e1" },
    });
    expect(answer.frames).toEqual([]);
  });

  it("asks the host once per room: a second subscription in the room is answered at once", () => {
    const state = subscribed(connected(), "sub-0", `/topic/chat/${ROOM}`);
    const decoded = decode(
      state,
      wire("SUBSCRIBE", { id: "sub-1", destination: `/topic/dm/${ROOM}/user/alice`, receipt: "r-2" }),
    );
    expect(decoded.commands).toEqual([]);
    expect(only(decoded.replies[0]).headers.get("receipt-id")).toBe("r-2");
    expect(decoded.state.subscriptions).toEqual([
      { id: "sub-0", room: ROOM, topic: "chat" },
      { id: "sub-1", room: ROOM, topic: "dm" },
    ]);
  });

  it("answers a refused subscription with ERROR naming the receipt, then close 4012", () => {
    const frame = wire("SUBSCRIBE", { id: "sub-0", destination: `/topic/chat/${ROOM}`, receipt: "r-9" });
    const { answer } = roundTrip(connected(), frame, failure("forbidden", "not a participant"));
    expect(answer.close?.code).toBe(CloseCode.UnauthorizedAction);
    const error = only(answer.frames[0]);
    expect(error.command).toBe("ERROR");
    expect(error.headers.get("message")).toBe("not a participant");
    expect(error.headers.get("receipt-id")).toBe("r-9");
  });

  it("refuses another room's topics and another user's DM topic with close 4012", () => {
    for (const destination of [
      "/topic/chat/other-room",
      `/topic/dm/other-room/user/alice`,
      `/topic/dm/${ROOM}/user/bob`,
      `/topic/chat/${ROOM}/extra`,
      "/queue/anything",
      "/app/chat",
    ]) {
      const decoded = decode(connected(), wire("SUBSCRIBE", { id: "sub-0", destination }));
      expectRefusal(decoded, CloseCode.UnauthorizedAction, `cannot subscribe to ${destination}`);
    }
  });

  it("refuses a SUBSCRIBE without destination or id, or with an unusable id", () => {
    expectRefusal(decode(connected(), wire("SUBSCRIBE", { id: "sub-0" })), CloseCode.BadMessageStructure);
    expectRefusal(
      decode(connected(), wire("SUBSCRIBE", { destination: `/topic/chat/${ROOM}` })),
      CloseCode.BadMessageStructure,
      "SUBSCRIBE needs destination and id headers",
    );
    for (const id of ["", "x".repeat(129)]) {
      expectRefusal(
        decode(connected(), wire("SUBSCRIBE", { id, destination: `/topic/chat/${ROOM}` })),
        CloseCode.BadMessageStructure,
      );
    }
  });

  it("refuses a subscription id already in use", () => {
    const state = subscribed(connected(), "sub-0", `/topic/chat/${ROOM}`);
    expectRefusal(
      decode(state, wire("SUBSCRIBE", { id: "sub-0", destination: `/topic/dm/${ROOM}/user/alice` })),
      CloseCode.BadMessageStructure,
      "subscription id sub-0 is already in use",
    );
  });

  it("refuses acknowledgement modes other than auto", () => {
    for (const ack of ["client", "client-individual"]) {
      expectRefusal(
        decode(connected(), wire("SUBSCRIBE", { id: "s", destination: `/topic/chat/${ROOM}`, ack })),
        CloseCode.BadMessageStructure,
        "only ack:auto subscriptions are supported",
      );
    }
    expect(
      decode(connected(), wire("SUBSCRIBE", { id: "s", destination: `/topic/chat/${ROOM}`, ack: "auto" }))
        .close,
    ).toBeUndefined();
  });

  it("refuses more than 8 subscriptions", () => {
    let state = connected();
    for (let i = 0; i < 8; i++) state = subscribed(state, `sub-${i}`, `/topic/chat/${ROOM}`);
    expectRefusal(
      decode(state, wire("SUBSCRIBE", { id: "sub-8", destination: `/topic/chat/${ROOM}` })),
      CloseCode.UnauthorizedAction,
      "at most 8 subscriptions per connection",
    );
  });

  it("unsubscribes from the room when its last subscription goes, with the RECEIPT after the host's answer", () => {
    let state = subscribed(connected(), "sub-0", `/topic/chat/${ROOM}`);
    state = subscribed(state, "sub-1", `/topic/dm/${ROOM}/user/alice`);

    const first = decode(state, wire("UNSUBSCRIBE", { id: "sub-0", receipt: "u-1" }));
    expect(first.commands).toEqual([]);
    expect(only(first.replies[0]).headers.get("receipt-id")).toBe("u-1");

    const { decoded, command, answer } = roundTrip(
      first.state,
      wire("UNSUBSCRIBE", { id: "sub-1", receipt: "u-2" }),
      {
        ok: true,
        value: { kind: "unsubscribed", room: ROOM },
      },
    );
    expect(command).toEqual({ kind: "unsubscribe", room: ROOM });
    expect(decoded.replies).toEqual([]);
    expect(decoded.state.subscriptions).toEqual([]);
    expect(only(answer.frames[0]).headers.get("receipt-id")).toBe("u-2");
  });

  it("ignores an unknown subscription id, answering its receipt", () => {
    const decoded = decode(connected(), wire("UNSUBSCRIBE", { id: "never", receipt: "u-3" }));
    expect(decoded.commands).toEqual([]);
    expect(decoded.close).toBeUndefined();
    expect(only(decoded.replies[0]).headers.get("receipt-id")).toBe("u-3");
  });

  it("refuses an UNSUBSCRIBE without id", () => {
    expectRefusal(
      decode(connected(), wire("UNSUBSCRIBE", {})),
      CloseCode.BadMessageStructure,
      "UNSUBSCRIBE needs an id header",
    );
  });

  it("lets 1.0 clients subscribe without id and unsubscribe by destination", () => {
    const state = connected(ALICE, { token: "t" });
    const destination = `/topic/chat/${ROOM}`;
    const sub = decode(state, wire("SUBSCRIBE", { destination }, "", "1.0"));
    expect(single(sub).command).toEqual({ kind: "subscribe", room: ROOM, since: null });
    expect(sub.state.subscriptions).toEqual([{ id: destination, room: ROOM, topic: "chat" }]);
    const unsub = decode(sub.state, wire("UNSUBSCRIBE", { destination }, "", "1.0"));
    expect(single(unsub).command).toEqual({ kind: "unsubscribe", room: ROOM });
  });

  it("unescapes destinations in 1.2, so room keys may hold colons", () => {
    const room = "live:42";
    const state = connected(ALICE, CONNECT_HEADERS, room);
    const decoded = decode(
      state,
      wire("SUBSCRIBE", { id: "s", destination: `/topic/chat/${room}` }),
      context(ALICE, room),
    );
    expect(single(decoded).command).toEqual({ kind: "subscribe", room, since: null });
  });

  it("takes the room from the destination on a socket whose URL names none", () => {
    const state = connected(ALICE, CONNECT_HEADERS, null);
    const ctx = context(ALICE, null);
    const decoded = decode(state, wire("SUBSCRIBE", { id: "s", destination: "/topic/chat/any-room" }), ctx);
    expect(single(decoded).command).toEqual({ kind: "subscribe", room: "any-room", since: null });
    expectRefusal(
      decode(state, wire("SUBSCRIBE", { id: "s", destination: "/topic/chat/dm:alice:bob" }), ctx),
      CloseCode.UnauthorizedAction,
    );
  });
});

describe("SEND", () => {
  it("turns /app/chat MESSAGE into a send command with a temp id derived from the session", () => {
    const decoded = decode(connected(), sendFrame());
    expect(single(decoded)).toEqual({
      command: {
        kind: "send",
        room: ROOM,
        draft: {
          temp_id: "sess-1:1",
          text: "this is test message",
          type: "text",
          custom_type: "MSG",
          data: "",
          to: null,
        },
      },
      tag: { frame: "SEND", receipt: null },
    });
    expect(decoded.replies).toEqual([]);
  });

  it("counts SEND frames in the state, so temp ids never repeat within a session", () => {
    const first = decode(connected(), sendFrame());
    const second = decode(first.state, sendFrame() + sendFrame());
    const tempIds = [...first.commands, ...second.commands].map(({ command }) =>
      command.kind === "send" ? command.draft.temp_id : null,
    );
    expect(tempIds).toEqual(["sess-1:1", "sess-1:2", "sess-1:3"]);
  });

  it("uses an explicit idempotency-key header as the temp id", () => {
    const decoded = decode(connected(), sendFrame({}, { "idempotency-key": "client-key-1" }));
    const { command } = single(decoded);
    expect(command.kind === "send" && command.draft.temp_id).toBe("client-key-1");
  });

  it("refuses an idempotency-key longer than 128 characters", () => {
    expectRefusal(
      decode(connected(), sendFrame({}, { "idempotency-key": "k".repeat(129) })),
      CloseCode.BadMessageStructure,
      "idempotency-key has 1 to 128 characters",
    );
  });

  it("maps COMMAND to a command message and passes data of any JSON shape through", () => {
    for (const data of [{ action: "mute", ids: [1, 2] }, [1, "two"], 42, true, null, "plain"]) {
      const { command } = single(decode(connected(), sendFrame({ message_type: "COMMAND", data })));
      expect(command.kind === "send" && command.draft).toMatchObject({ type: "command", data });
    }
  });

  it("leaves data out, and custom_type null, when the body omits them", () => {
    const body = JSON.stringify({
      channel_key: ROOM,
      user: { id: "alice" },
      message_type: "MESSAGE",
      message: "m",
    });
    const { command } = single(decode(connected(), wire("SEND", { destination: "/app/chat" }, body)));
    expect(command.kind === "send" && command.draft).toEqual({
      temp_id: "sess-1:1",
      text: "m",
      type: "text",
      custom_type: null,
      to: null,
    });
  });

  it("accepts a numeric user id and a content-type with parameters", () => {
    const numeric: Profile = { ...ALICE, id: "123" };
    const decoded = decode(
      connected(numeric),
      sendFrame({ user: { id: 123 } }, { "content-type": "application/json;charset=UTF-8" }),
      context(numeric),
    );
    expect(single(decoded).command.kind).toBe("send");
  });

  it("sends /app/dm to the receiver header", () => {
    for (const type of ["DM", "MESSAGE"]) {
      const decoded = decode(connected(), sendFrame({ message_type: type }, { receiver: "bob" }, "/app/dm"));
      const { command } = single(decoded);
      expect(command.kind === "send" && command.draft).toMatchObject({ type: "text", to: "bob" });
    }
  });

  it("answers with RECEIPT only once the host reports the message stored", () => {
    const { decoded, answer } = roundTrip(connected(), sendFrame({}, { receipt: "s-1" }), {
      ok: true,
      value: {
        kind: "sent",
        room: ROOM,
        ack: {
          temp_id: "sess-1:1",
          id: "m-1",
          seq: 8,
          created_at: "2026-01-01T00:00:00Z",
          epoch: "e1",
          duplicate: false,
        },
        message: message({ seq: 8 }),
      },
    });
    expect(decoded.replies).toEqual([]);
    expect(single(decoded).tag).toEqual({ frame: "SEND", receipt: "s-1" });
    const receipt = only(answer.frames[0]);
    expect(receipt.command).toBe("RECEIPT");
    expect(receipt.headers.get("receipt-id")).toBe("s-1");
    expect(answer.close).toBeUndefined();
  });

  it("answers a refused send with ERROR naming the receipt, then closes by the error's code", () => {
    const cases: [ErrorCode, number][] = [
      ["forbidden", CloseCode.UnauthorizedAction],
      ["rate_limited", CloseCode.UnauthorizedAction],
      ["bad_request", CloseCode.BadMessageStructure],
      ["payload_too_large", CloseCode.BadMessageStructure],
      ["internal", CloseCode.ServerError],
    ];
    for (const [code, close] of cases) {
      const { answer } = roundTrip(
        connected(),
        sendFrame({}, { receipt: "s-2" }),
        failure(code, "text: too long", code === "rate_limited" ? 3 : undefined),
      );
      expect(answer.close?.code).toBe(close);
      expect(answer.state.phase).toBe("closed");
      const error = only(answer.frames[0]);
      expect(error.headers.get("message")).toBe("text: too long");
      expect(error.headers.get("receipt-id")).toBe("s-2");
      expect(error.headers.get("retry-after")).toBe(code === "rate_limited" ? "3" : undefined);
      expect(error.body).toBe(code);
    }
  });

  it("refuses destinations other than /app/chat and /app/dm with close 4012", () => {
    for (const destination of [`/topic/chat/${ROOM}`, "/app/other", "/app/chat/"]) {
      expectRefusal(decode(connected(), sendFrame({}, {}, destination)), CloseCode.UnauthorizedAction);
    }
    expectRefusal(
      decode(connected(), wire("SEND", {}, sendBody())),
      CloseCode.UnauthorizedAction,
      "cannot send to no destination",
    );
  });

  it("refuses another room's channel_key and another user's user.id with close 4012", () => {
    expectRefusal(
      decode(connected(), sendFrame({ channel_key: "other" })),
      CloseCode.UnauthorizedAction,
      "cannot send to channel other",
    );
    expectRefusal(
      decode(connected(), sendFrame({ user: { id: "bob" } })),
      CloseCode.UnauthorizedAction,
      "user.id must be the connected user",
    );
  });

  it("refuses JOIN and LEAVE from a client with close 4012", () => {
    for (const type of ["JOIN", "LEAVE"]) {
      expectRefusal(
        decode(connected(), sendFrame({ message_type: type })),
        CloseCode.UnauthorizedAction,
        `${type} messages are sent by the server only`,
      );
    }
  });

  it("refuses DM on /app/chat and /app/dm without a valid receiver", () => {
    expectRefusal(
      decode(connected(), sendFrame({ message_type: "DM" })),
      CloseCode.BadMessageStructure,
      "DM messages are sent to /app/dm",
    );
    expectRefusal(
      decode(connected(), sendFrame({ message_type: "DM" }, {}, "/app/dm")),
      CloseCode.BadMessageStructure,
    );
    expectRefusal(
      decode(connected(), sendFrame({ message_type: "DM" }, { receiver: "has space" }, "/app/dm")),
      CloseCode.BadMessageStructure,
    );
  });

  it("refuses a body missing a required field or with a wrong type", () => {
    const bodies: Record<string, unknown>[] = [
      { channel_key: undefined },
      { user: undefined },
      { user: { username: "x" } },
      { message_type: undefined },
      { message_type: "SHOUT" },
      { message: undefined },
      { message: 5 },
      { custom_type: 7 },
    ];
    for (const over of bodies) {
      const decoded = decode(connected(), sendFrame(over));
      const error = expectRefusal(decoded, CloseCode.BadMessageStructure);
      expect(error.body).toBe("bad_request");
    }
  });

  it("refuses a body that is not JSON or not declared as JSON", () => {
    expectRefusal(
      decode(connected(), wire("SEND", { destination: "/app/chat" }, "{not json")),
      CloseCode.BadMessageStructure,
      "the body is not JSON",
    );
    expectRefusal(
      decode(connected(), sendFrame({}, { "content-type": "text/plain" })),
      CloseCode.BadMessageStructure,
      "content-type must be application/json",
    );
  });

  it("refuses transactions", () => {
    expectRefusal(
      decode(connected(), sendFrame({}, { transaction: "tx-1" })),
      CloseCode.BadMessageStructure,
      "transactions are not supported",
    );
    for (const command of ["BEGIN", "COMMIT", "ABORT"]) {
      expectRefusal(
        decode(connected(), wire(command, { transaction: "tx-1" })),
        CloseCode.BadMessageStructure,
      );
    }
  });

  it("refuses ACK and NACK, since every subscription is ack:auto", () => {
    for (const command of ["ACK", "NACK"]) {
      expectRefusal(
        decode(connected(), wire(command, { id: "m-1" })),
        CloseCode.BadMessageStructure,
        "acknowledgements are not supported",
      );
    }
  });

  it("names the receipt of the refused frame in its ERROR", () => {
    const error = expectRefusal(
      decode(connected(), sendFrame({ channel_key: "x" }, { receipt: "s-3" })),
      4012,
    );
    expect(error.headers.get("receipt-id")).toBe("s-3");
  });
});

describe("DISCONNECT", () => {
  it("answers with RECEIPT and closes normally", () => {
    const decoded = decode(connected(), wire("DISCONNECT", { receipt: "close-7" }));
    expect(decoded.commands).toEqual([]);
    expect(decoded.close).toEqual({ code: 1000, reason: "DISCONNECT" });
    expect(decoded.state.phase).toBe("closed");
    expect(only(decoded.replies[0]).headers.get("receipt-id")).toBe("close-7");
  });

  it("closes without RECEIPT when none was asked, ignoring what follows", () => {
    const decoded = decode(connected(), wire("DISCONNECT", {}) + sendFrame());
    expect(decoded.replies).toEqual([]);
    expect(decoded.commands).toEqual([]);
    expect(decoded.close?.code).toBe(1000);
  });

  it("ignores anything that arrives after the session closed", () => {
    const closed = decode(connected(), wire("DISCONNECT", {})).state;
    expect(decode(closed, sendFrame())).toEqual({ state: closed, commands: [], replies: [] });
    expect(
      stompCodec.encodeOutcome(
        closed,
        { frame: "SEND", receipt: "r" },
        { kind: "typing", room: ROOM, typing: true },
        failure("internal"),
        context(ALICE),
      ),
    ).toEqual({ state: closed, frames: [] });
  });
});

describe("the wire", () => {
  it("reassembles a frame split across several messages, keeping the partial in the state", () => {
    const frame = sendFrame();
    let state = connected();
    const cuts = [5, 40, frame.length - 1];
    let from = 0;
    for (const cut of cuts) {
      const decoded = decode(state, frame.slice(from, cut));
      expect(decoded.commands).toEqual([]);
      expect(decoded.state.partial).toBe(frame.slice(0, cut));
      state = decoded.state;
      from = cut;
    }
    const last = decode(state, frame.slice(from));
    expect(single(last).command.kind).toBe("send");
    expect(last.state.partial).toBe("");
  });

  it("decodes several frames in one message, with heart-beats between them", () => {
    const decoded = decode(connected(), `\n${sendFrame()}\r\n${sendFrame()}\n\n`);
    expect(decoded.commands).toHaveLength(2);
    expect(decoded.close).toBeUndefined();
  });

  it("treats a bare heart-beat as nothing to do", () => {
    const state = connected();
    expect(decode(state, "\n")).toEqual({ state, commands: [], replies: [] });
    expect(decode(state, "\r\n")).toEqual({ state, commands: [], replies: [] });
  });

  it("decodes binary messages, a character split between two of them included", () => {
    const bytes = new TextEncoder().encode(sendFrame({ message: "héllo 👋" }));
    const cut = bytes.indexOf(0xf0) + 2;
    const first = decode(connected(), bytes.slice(0, cut).buffer as ArrayBuffer);
    expect(first.commands).toEqual([]);
    expect(first.state.partialBytes).toHaveLength(2);
    const second = decode(first.state, bytes.slice(cut).buffer as ArrayBuffer);
    const { command } = single(second);
    expect(command.kind === "send" && command.draft.text).toBe("héllo 👋");
    expect(second.state.partialBytes).toEqual([]);
  });

  it("refuses binary messages that are not UTF-8, and a text message that cuts a split character", () => {
    expectRefusal(
      decode(connected(), new Uint8Array([0x53, 0xff, 0x0a]).buffer as ArrayBuffer),
      CloseCode.BadMessageStructure,
      "binary message is not UTF-8",
    );
    const first = decode(connected(), new Uint8Array([0xc3]).buffer as ArrayBuffer);
    expectRefusal(decode(first.state, "A"), CloseCode.BadMessageStructure);
  });

  it("refuses a frame larger than maxFrameBytes: declared, whole, or still arriving", () => {
    expectRefusal(
      decode(connected(), sendFrame({ message: "x".repeat(5000) }).slice(0, 200)),
      CloseCode.BadMessageStructure,
      "frame is larger than 4096 bytes",
    );
    const unsized = `SEND\ndestination:/app/chat\n\n${sendBody({ message: "x".repeat(5000) })}\0`;
    expectRefusal(
      decode(connected(), unsized),
      CloseCode.BadMessageStructure,
      "frame is larger than 4096 bytes",
    );
    const first = decode(connected(), unsized.slice(0, 3000));
    expect(first.close).toBeUndefined();
    const second = decode(first.state, unsized.slice(3000, 4500));
    const error = expectRefusal(second, CloseCode.BadMessageStructure);
    expect(error.body).toBe("payload_too_large");
    expect(second.state.partial).toBe("");
  });

  it("keeps at most MAX_PARTIAL_FRAME_BYTES of a split frame, whatever maxFrameBytes allows", () => {
    const ctx = context(ALICE, ROOM, 65_536);
    const unsized = `SEND\ndestination:/app/chat\n\n${sendBody({ message: "x".repeat(10_000) })}\0`;
    const whole = decode(connected(), unsized, ctx);
    expect(single(whole).command.kind).toBe("send");
    const fits = decode(connected(), unsized.slice(0, MAX_PARTIAL_FRAME_BYTES), ctx);
    expect(fits.close).toBeUndefined();
    expectRefusal(
      decode(fits.state, unsized.slice(MAX_PARTIAL_FRAME_BYTES, MAX_PARTIAL_FRAME_BYTES + 1), ctx),
      CloseCode.BadMessageStructure,
      `a frame split across WebSocket messages is larger than ${MAX_PARTIAL_FRAME_BYTES} bytes`,
    );
  });

  it("refuses an undefined escape, an unknown command and a missing NUL", () => {
    expectRefusal(
      decode(connected(), "SUBSCRIBE\nid:a\\tb\ndestination:/topic/chat/room-1\n\n\0"),
      CloseCode.BadMessageStructure,
      "undefined escape sequence in header id",
    );
    expectRefusal(
      decode(connected(), "PUBLISH\n\n\0"),
      CloseCode.BadMessageStructure,
      "unknown command PUBLISH",
    );
    expectRefusal(
      decode(connected(), "SEND\ndestination:/app/chat\ncontent-length:2\n\nabc\0"),
      CloseCode.BadMessageStructure,
      "frame is not terminated by NUL",
    );
  });

  it("drops the commands of a message whose later frame is refused", () => {
    expectRefusal(decode(connected(), `${sendFrame()}BOGUS\n\n\0`), CloseCode.BadMessageStructure);
  });

  it("quotes client text in ERROR only in part, and keeps the close reason within 123 bytes", () => {
    const destination = `/topic/chat/${"한".repeat(500)}`;
    const decoded = decode(connected(), wire("SUBSCRIBE", { id: "s", destination }));
    const error = expectRefusal(decoded, CloseCode.UnauthorizedAction);
    expect(error.headers.get("message")).toBe(`cannot subscribe to ${destination.slice(0, 64)}…`);
    expect(new TextEncoder().encode(decoded.close?.reason).length).toBeLessThanOrEqual(123);
    expect(decoded.close?.reason.startsWith("cannot subscribe to /topic/chat/한")).toBe(true);
  });

  it("escapes ERROR headers once 1.2 is agreed", () => {
    const decoded = decode(connected(), sendFrame({ channel_key: "a:b" }));
    expect(decoded.replies[0]).toContain("message:cannot send to channel a\\cb\n");
  });
});

describe("events", () => {
  const chatAndDm = (user: Profile = ALICE) => {
    let state = connected(user);
    state = subscribed(state, "sub-chat", `/topic/chat/${ROOM}`, context(user));
    return subscribed(state, "sub-dm", `/topic/dm/${ROOM}/user/${user.id}`, context(user));
  };

  it("turns a room message into a MESSAGE on the chat topic, body as the Gossip model shows it", () => {
    const frames = stompCodec.encodeEvent(
      chatAndDm(),
      messageEvent({ custom_type: "MSG", data: { x: 1 } }),
      context(ALICE),
    );
    expect(frames).toHaveLength(1);
    const frame = only(frames[0]);
    expect(frame.command).toBe("MESSAGE");
    expect([...frame.headers]).toEqual([
      ["destination", `/topic/chat/${ROOM}`],
      ["subscription", "sub-chat"],
      // created_at 2023-03-25T23:18:22.123Z in ms, then seq 7 in six digits: a long, as the seed shows it.
      ["message-id", "1679786302123000007"],
      ["parley-message-id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"],
      ["content-type", "application/json"],
      ["content-length", String(new TextEncoder().encode(frame.body).length)],
    ]);
    expect(JSON.parse(frame.body)).toEqual({
      channel_key: ROOM,
      user: { id: "bob", username: null, avatar: null },
      message_type: "MESSAGE",
      message_id: "1679786302123000007",
      message: "hi all",
      custom_type: "MSG",
      data: { x: 1 },
      created_at: "1679786302",
    });
  });

  it("sends the sender its own message on the chat topic", () => {
    const frames = stompCodec.encodeEvent(chatAndDm(), messageEvent({ sender: ALICE }), context(ALICE));
    expect(JSON.parse(only(frames[0]).body).user).toEqual({
      id: "alice",
      username: "Alice",
      avatar: "https://example.com/alice.png",
    });
  });

  it("marks command messages as COMMAND", () => {
    const frames = stompCodec.encodeEvent(chatAndDm(), messageEvent({ type: "command" }), context(ALICE));
    expect(JSON.parse(only(frames[0]).body).message_type).toBe("COMMAND");
  });

  it("sends one MESSAGE per matching subscription, as one batch", () => {
    const state = subscribed(chatAndDm(), "sub-chat-2", `/topic/chat/${ROOM}`);
    const frames = stompCodec.encodeEvent(state, messageEvent(), context(ALICE));
    const messages = stompCodec.batch(frames);
    expect(messages).toHaveLength(1);
    const batched = parse(messages[0]);
    expect(batched.map((f) => f.headers.get("subscription"))).toEqual(["sub-chat", "sub-chat-2"]);
  });

  it("delivers a DM only on the receiver's DM topic", () => {
    const dm = messageEvent({ to: "alice", sender: BOB, text: "psst" });
    const frames = stompCodec.encodeEvent(chatAndDm(ALICE), dm, context(ALICE));
    const frame = only(frames[0]);
    expect(frame.headers.get("destination")).toBe(`/topic/dm/${ROOM}/user/alice`);
    expect(frame.headers.get("subscription")).toBe("sub-dm");
    expect(JSON.parse(frame.body)).toMatchObject({
      message_type: "DM",
      message: "psst",
      user: { id: "bob" },
    });
  });

  it("does not send a DM back to its sender: the DM is only for its receiver, the RECEIPT confirms it", () => {
    const dm = messageEvent({ to: "alice", sender: BOB });
    expect(stompCodec.encodeEvent(chatAndDm(BOB), dm, context(BOB))).toEqual([]);
  });

  it("gives a message the same numeric id on every socket, on a duplicate resend and after a resume", () => {
    const ids = (state: StompState, ctx: SessionContext, event: ChatEvent) =>
      stompCodec.encodeEvent(state, event, ctx).map((f) => only(f).headers.get("message-id"));
    const event = messageEvent();
    const atAlice = ids(chatAndDm(ALICE), context(ALICE), event);
    const atCarol = ids(chatAndDm(CAROL), context(CAROL), event);
    expect(atAlice).toEqual(["1679786302123000007"]);
    expect(atCarol).toEqual(atAlice);
    // A later session (a resume, a resend answered with the stored message) derives the same id.
    const later = stompCodec.afterEvent?.(chatAndDm(ALICE), event, context(ALICE)) as StompState;
    expect(ids(later, context(ALICE), event)).toEqual(atAlice);
    const next = messageEvent({ seq: 8, id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c" });
    expect(ids(chatAndDm(ALICE), context(ALICE), next)).toEqual(["1679786302123000008"]);
  });

  it("never shows a DM to a third user, nor on a chat-only subscription", () => {
    const dm = messageEvent({ to: "alice", sender: BOB });
    expect(stompCodec.encodeEvent(chatAndDm(CAROL), dm, context(CAROL))).toEqual([]);
    const chatOnly = subscribed(connected(), "sub-chat", `/topic/chat/${ROOM}`);
    expect(stompCodec.encodeEvent(chatOnly, dm, context(ALICE))).toEqual([]);
  });

  it("turns occupancy into JOIN and LEAVE messages with the participant counts", () => {
    for (const what of ["join", "leave"] as const) {
      const event: ChatEvent = {
        type: "occupancy",
        room: ROOM,
        what,
        user: CAROL,
        participant_count: 12,
        total_user_count: 1004,
        at: "2023-03-25T23:18:22.000Z",
      };
      const frames = stompCodec.encodeEvent(chatAndDm(), event, context(ALICE));
      const frame = only(frames[0]);
      expect(frame.headers.get("subscription")).toBe("sub-chat");
      // The event's time in ms, then 500000 plus the session's JOIN/LEAVE count (none before this one).
      const messageId = "1679786302000500000";
      expect(frame.headers.get("message-id")).toBe(messageId);
      expect(frame.headers.has("parley-message-id")).toBe(false);
      expect(JSON.parse(frame.body)).toEqual({
        channel_key: ROOM,
        user: { id: "carol", username: "Carol", avatar: null },
        message_type: what === "join" ? "JOIN" : "LEAVE",
        message_id: messageId,
        message: "",
        custom_type: null,
        data: null,
        created_at: "1679786302",
        total_user_count: 1004,
        participant_count: 12,
      });
    }
  });

  it("numbers JOIN and LEAVE per session, so two in the same millisecond differ, and never like a message", () => {
    const at = "2023-03-25T23:18:22.123Z";
    const occupancy = (user: Profile, what: "join" | "leave"): ChatEvent => ({
      type: "occupancy",
      room: ROOM,
      what,
      user,
      participant_count: 1,
      total_user_count: 2,
      at,
    });
    let state = chatAndDm();
    const seen: string[] = [];
    for (const event of [occupancy(BOB, "join"), occupancy(CAROL, "join"), occupancy(BOB, "leave")]) {
      seen.push(
        only(stompCodec.encodeEvent(state, event, context(ALICE))[0]).headers.get("message-id") ?? "",
      );
      state = stompCodec.afterEvent?.(state, event, context(ALICE)) as StompState;
    }
    expect(seen).toEqual(["1679786302123500000", "1679786302123500001", "1679786302123500002"]);
    expect(state.announced).toBe(3);
    // A message of the same millisecond takes a suffix below 500000.
    const sameMs = only(stompCodec.encodeEvent(state, messageEvent({ seq: 0 }), context(ALICE))[0]);
    expect(sameMs.headers.get("message-id")).toBe("1679786302123000000");
    expect(seen).not.toContain(sameMs.headers.get("message-id"));
    // Other events, and JOIN/LEAVE of rooms without a chat subscription, leave the state as it is (the host
    // then does not rewrite the attachment).
    expect(stompCodec.afterEvent?.(state, messageEvent(), context(ALICE))).toBe(state);
    const elsewhere = { ...occupancy(BOB, "join"), room: "other-room" } as ChatEvent;
    expect(stompCodec.afterEvent?.(state, elsewhere, context(ALICE))).toBe(state);
  });

  it("produces no frames for other events, other rooms, or sessions not yet connected", () => {
    const state = chatAndDm();
    const others: ChatEvent[] = [
      { type: "typing", room: ROOM, user: BOB, typing: true, at: "2026-01-01T00:00:00Z" },
      { type: "read", room: ROOM, user_id: "bob", seq: 3, message_seqs: [3], at: "2026-01-01T00:00:00Z" },
      { type: "presence", user_id: "bob", online: true, last_seen: null, at: "2026-01-01T00:00:00Z" },
      { type: "member_left", room: ROOM, seq: 9, at: "2026-01-01T00:00:00Z", user_id: "bob", reason: "left" },
      { type: "room_deleted", room: ROOM, seq: 10, at: "2026-01-01T00:00:00Z" },
      { ...(messageEvent() as Extract<ChatEvent, { type: "message" }>), room: "other-room" },
    ];
    for (const event of others) expect(stompCodec.encodeEvent(state, event, context(ALICE))).toEqual([]);
    expect(stompCodec.encodeEvent(fresh(), messageEvent(), context(ALICE))).toEqual([]);
  });

  it("escapes MESSAGE headers as 1.2 requires", () => {
    const room = "live:42";
    let state = connected(ALICE, CONNECT_HEADERS, room);
    state = subscribed(state, "s", `/topic/chat/${room}`, context(ALICE, room));
    const frames = stompCodec.encodeEvent(
      state,
      { ...messageEvent(), room } as ChatEvent,
      context(ALICE, room),
    );
    expect(frames[0]).toContain("destination:/topic/chat/live\\c42\n");
    expect(only(frames[0]).headers.get("destination")).toBe("/topic/chat/live:42");
  });
});
