import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import {
  DDP_PING_INTERVAL_MS,
  type DdpState,
  ddpCodec,
  RECENT_MESSAGES,
  STATE_BUDGET_BYTES,
} from "../../src/dialects/ddp/codec";
import { withinDepth } from "../../src/dialects/ddp/ejson";
import type { CommandOutcome, CommandResult } from "../../src/domain/commands";
import type { ErrorCode } from "../../src/domain/errors";
import type { ChatEvent, RoomListing } from "../../src/domain/events";
import type { Message, Notification, Profile, Room, RoomBrief } from "../../src/domain/model";

const NOW = "2024-05-01T10:00:00.000Z";
const NOW_MS = Date.parse(NOW);
const ALICE: Profile = { id: "alice", name: "Alice", avatar: null };
const BOB: Profile = { id: "bob", name: null, avatar: null };
const BRIEFS: Record<string, RoomBrief> = {
  general: { key: "general", name: "General", number: 7, kind: "group", private: false, epoch: "e1" },
  secret: { key: "secret", name: "Secret", number: 8, kind: "group", private: true, epoch: "e1" },
  "dm:alice:bob": { key: "dm:alice:bob", name: null, number: 9, kind: "direct", private: true, epoch: "e1" },
  live: { key: "live", name: "Live", number: 10, kind: "live", private: false, epoch: "e1" },
};

function context(user: Profile | null = ALICE, maxFrameBytes = 65_536): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room: null,
    maxFrameBytes,
    now: () => new Date(NOW),
    roomInfo: (key) => BRIEFS[key] ?? null,
  };
}

const fresh = (): DdpState => ddpCodec.initialState(context(null));
const connected = (): DdpState => ({ ...fresh(), phase: "connected" });
const parse = (frames: string[]): unknown[] => frames.map((f) => JSON.parse(f));

function decode(message: unknown, state = connected(), user: Profile | null = ALICE) {
  const raw = typeof message === "string" ? message : JSON.stringify(message);
  const decoded = ddpCodec.decode(state, raw, context(user));
  return { ...decoded, out: parse(decoded.replies) };
}

const call = (method: string, ...params: unknown[]) => ({ msg: "method", id: "m1", method, params });

/** Decodes one frame into one command and answers it with `outcome`, as the host does. */
function roundTrip(
  message: unknown,
  outcome: CommandOutcome,
  state = connected(),
  user: Profile | null = ALICE,
) {
  const decoded = decode(message, state, user);
  const [tagged] = decoded.commands;
  if (!tagged || decoded.commands.length !== 1)
    throw new Error(`expected one command from ${JSON.stringify(message)}: ${decoded.replies}`);
  const answer = ddpCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, context(user));
  return {
    command: tagged.command,
    decoded,
    state: answer.state,
    out: parse(answer.frames),
    close: answer.close,
  };
}

const ok = (value: CommandResult): CommandOutcome => ({ ok: true, value });
const failure = (code: ErrorCode, retry_after?: number): CommandOutcome => ({
  ok: false,
  error: { code, message: `refused: ${code}`, ...(retry_after === undefined ? {} : { retry_after }) },
});

function message(over: Partial<Message> = {}): Message {
  return {
    id: "m-1",
    room: "general",
    seq: 5,
    sender: BOB,
    type: "text",
    text: "hello",
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    temp_id: null,
    created_at: NOW,
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: 5,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...over,
  };
}

const room = (over: Partial<Room> = {}): Room => ({
  key: "general",
  number: 7,
  kind: "group",
  name: "General",
  description: null,
  metadata: {},
  private: false,
  created_by: "bob",
  created_at: "2024-01-01T00:00:00.000Z",
  epoch: "e1",
  ...over,
});

const listing = (over: Partial<RoomListing> = {}): RoomListing => ({
  room: room(),
  role: "admin",
  unread: 3,
  mentions: 1,
  last_message: message(),
  pinned_at: null,
  ...over,
});

const meteorError = (error: string | number, reason?: string, details?: Record<string, unknown>) => ({
  isClientSafe: true,
  error,
  ...(reason === undefined ? {} : { reason }),
  ...(details === undefined ? {} : { details }),
  message: reason === undefined ? `[${error}]` : `${reason} [${error}]`,
  errorType: "Meteor.Error",
});

const updated = { msg: "updated", methods: ["m1"] };

/** A state subscribed to `subs` (stream name, event name) as if each follow had succeeded. */
function subscribed(...subs: [string, string][]): DdpState {
  let state = connected();
  subs.forEach(([name, eventName], i) => {
    const decoded = decode({ msg: "sub", id: `s${i}`, name, params: [eventName, false] }, state);
    state = decoded.state;
  });
  return state;
}

function encode(event: ChatEvent, state: DdpState, user: Profile | null = ALICE): unknown[] {
  return parse(ddpCodec.encodeEvent(state, event, context(user)));
}

describe("ddp codec: the DDP session", () => {
  it("serves /websocket on the user socket, with no subprotocol, authenticating by the login method", () => {
    expect(ddpCodec.endpoints).toEqual([{ path: "/websocket", scope: "user" }]);
    expect(ddpCodec.chooseSubprotocol(["x", "y"])).toBeNull();
    expect(ddpCodec.auth).toBe("first_frame");
    expect(ddpCodec.retriesAuth).toBe(true);
  });

  it("answers connect with connected and the session id, without a command", () => {
    const decoded = decode({ msg: "connect", version: "1", support: ["1", "pre2", "pre1"] }, fresh(), null);
    expect(decoded.out).toEqual([{ msg: "connected", session: "sess-1" }]);
    expect(decoded.commands).toEqual([]);
    expect(decoded.close).toBeUndefined();
    expect(decoded.state.phase).toBe("connected");
  });

  it("answers a version it does not speak, or a version outside support, with failed and closes", () => {
    for (const connect of [
      { msg: "connect", version: "pre2", support: ["pre2", "pre1"] },
      { msg: "connect", version: "1", support: ["pre1"] },
      { msg: "connect", version: "1" },
      { msg: "connect", version: 1, support: [1] },
    ]) {
      const decoded = decode(connect, fresh(), null);
      expect(decoded.out).toEqual([{ msg: "failed", version: "1" }]);
      expect(decoded.close?.code).toBe(1000);
      expect(decoded.state.phase).toBe("greeting");
    }
  });

  it("refuses anything but connect first, a second connect, bad JSON and unknown messages, as Meteor does", () => {
    const sub = { msg: "sub", id: "s1", name: "stream-room-messages", params: ["general", false] };
    expect(decode(sub, fresh(), null).out).toEqual([
      { msg: "error", reason: "Must connect first", offendingMessage: sub },
    ]);
    const connect = { msg: "connect", version: "1", support: ["1"] };
    expect(decode(connect).out).toEqual([
      { msg: "error", reason: "Already connected", offendingMessage: connect },
    ]);
    expect(decode("{not json").out).toEqual([{ msg: "error", reason: "Parse error" }]);
    expect(decode({ msg: "subscribe" }).out).toEqual([
      { msg: "error", reason: "Bad request", offendingMessage: { msg: "subscribe" } },
    ]);
    expect(decode({ id: "1" }).out).toEqual([
      { msg: "error", reason: "Bad request", offendingMessage: { id: "1" } },
    ]);
    expect(decode("null").out).toEqual([{ msg: "error", reason: "Bad request", offendingMessage: null }]);
    expect(decode("[1,2]").out).toEqual([{ msg: "error", reason: "Bad request", offendingMessage: [1, 2] }]);
  });

  it("refuses malformed subscriptions and method invocations", () => {
    const sub = { msg: "sub", id: 5, name: "stream-room-messages" };
    expect(decode(sub).out).toEqual([
      { msg: "error", reason: "Malformed subscription", offendingMessage: sub },
    ]);
    const withBadParams = { msg: "sub", id: "s", name: "x", params: "general" };
    expect(decode(withBadParams).out[0]).toMatchObject({ reason: "Malformed subscription" });
    for (const method of [
      { msg: "method", id: 1, method: "sendMessage" },
      { msg: "method", id: "1", method: "sendMessage", params: {} },
      { msg: "method", id: "1", method: "sendMessage", params: [], randomSeed: 3 },
    ])
      expect(decode(method).out).toEqual([
        { msg: "error", reason: "Malformed method invocation", offendingMessage: method },
      ]);
  });

  it("answers a frame past the byte limit, or nested too deeply, and closes", () => {
    const big = ddpCodec.decode(
      connected(),
      JSON.stringify({ msg: "ping", pad: "x".repeat(200) }),
      context(ALICE, 100),
    );
    expect(parse(big.replies)).toEqual([{ msg: "error", reason: "Message too big" }]);
    expect(big.close?.code).toBe(1009);
    const deep = decode(`${"[".repeat(40)}${"]".repeat(40)}`);
    expect(deep.out).toEqual([{ msg: "error", reason: "Parse error" }]);
    expect(deep.close?.code).toBe(1002);
    expect(withinDepth(JSON.parse(`${"[".repeat(32)}${"]".repeat(32)}`))).toBe(true);
  });

  it("refuses binary frames that are not UTF-8 and reads binary JSON that is", () => {
    const bad = ddpCodec.decode(connected(), new Uint8Array([0xff, 0xfe]).buffer, context());
    expect(parse(bad.replies)).toEqual([{ msg: "error", reason: "Parse error" }]);
    const ping = ddpCodec.decode(
      connected(),
      new TextEncoder().encode('{"msg":"ping"}').buffer as ArrayBuffer,
      context(),
    );
    expect(parse(ping.replies)).toEqual([{ msg: "pong" }]);
  });

  it("answers ping with pong echoing its id, and accepts pong silently", () => {
    expect(decode({ msg: "ping", id: "7" }).out).toEqual([{ msg: "pong", id: "7" }]);
    expect(decode({ msg: "ping" }).out).toEqual([{ msg: "pong" }]);
    const pong = decode({ msg: "pong", id: "x" });
    expect(pong.replies).toEqual([]);
    expect(pong.commands).toEqual([]);
  });

  it("pings every interval and closes a session silent since the previous ping", () => {
    const { heartbeat } = ddpCodec;
    if (!heartbeat) throw new Error("ddp has a heartbeat");
    expect(heartbeat.intervalMs).toBe(DDP_PING_INTERVAL_MS);
    const first = heartbeat.beat(connected(), context(), NOW_MS - 5000);
    expect(parse(first.frames)).toEqual([{ msg: "ping" }]);
    expect(first.state.beatAt).toBe(NOW_MS);
    const answered = heartbeat.beat(first.state, context(), NOW_MS + 10);
    expect(parse(answered.frames)).toEqual([{ msg: "ping" }]);
    expect(answered.close).toBeUndefined();
    const silent = heartbeat.beat(first.state, context(), NOW_MS - 1);
    expect(silent.frames).toEqual([]);
    expect(silent.close).toEqual({ code: 1000, reason: "heartbeat timed out" });
    const greeting = heartbeat.beat(fresh(), context(null), NOW_MS);
    expect(greeting.frames).toEqual([]);
    expect(heartbeat.beat(greeting.state, context(null), NOW_MS - 1).close).toBeDefined();
    expect(ddpCodec.idleLimitMs(connected())).toBeGreaterThan(2 * DDP_PING_INTERVAL_MS);
  });

  it("sends every DDP message as its own WebSocket message", () => {
    expect(ddpCodec.batch(['{"msg":"a"}', '{"msg":"b"}'])).toEqual(['{"msg":"a"}', '{"msg":"b"}']);
  });
});

describe("ddp codec: login and logout", () => {
  const login = call("login", { resume: "tok-1" });

  it("turns a resume login into auth and answers the RC login result", () => {
    const expires = "2024-08-01T00:00:00.000Z";
    const answer = roundTrip(
      login,
      ok({ kind: "auth", user: ALICE, expires_at: expires }),
      connected(),
      null,
    );
    expect(answer.command).toEqual({ kind: "auth", token: "tok-1" });
    expect(answer.out).toEqual([
      {
        msg: "result",
        id: "m1",
        result: { id: "alice", token: "tok-1", tokenExpires: { $date: Date.parse(expires) }, type: "resume" },
      },
      updated,
    ]);
  });

  it("reports a token without expiry as living 90 days", () => {
    const answer = roundTrip(login, ok({ kind: "auth", user: ALICE, expires_at: null }), connected(), null);
    const result = (answer.out[0] as { result: { tokenExpires: { $date: number } } }).result;
    expect(result.tokenExpires.$date).toBe(NOW_MS + 90 * 24 * 3600 * 1000);
  });

  it("answers a refused token with Meteor accounts' 403s, leaving the session open", () => {
    const bad = roundTrip(login, failure("invalid_token"), connected(), null);
    expect(bad.out).toEqual([
      {
        msg: "result",
        id: "m1",
        error: meteorError(403, "You've been logged out by the server. Please log in again."),
      },
      updated,
    ]);
    expect(bad.close).toBeUndefined();
    const expired = roundTrip(login, failure("token_expired"), connected(), null);
    expect(expired.out[0]).toMatchObject({
      error: meteorError(403, "Your session has expired. Please log in again."),
    });
  });

  it("refuses password logins as a login no handler takes", () => {
    const password = call("login", {
      user: { username: "a" },
      password: { digest: "x", algorithm: "sha-256" },
    });
    expect(decode(password, connected(), null).out).toEqual([
      { msg: "result", id: "m1", error: meteorError(400, "Unrecognized options for login request") },
      updated,
    ]);
  });

  it("renews the token with a second login on a live session", () => {
    const answer = roundTrip(login, ok({ kind: "token_refreshed", user: ALICE, expires_at: null }));
    expect(answer.command).toEqual({ kind: "refresh_token", token: "tok-1" });
    expect(answer.out[0]).toMatchObject({ result: { id: "alice", token: "tok-1", type: "resume" } });
  });

  it("answers logout and closes the session", () => {
    const decoded = decode(call("logout"));
    expect(decoded.out).toEqual([{ msg: "result", id: "m1" }, updated]);
    expect(decoded.close).toEqual({ code: 1000, reason: "logged out" });
  });
});

describe("ddp codec: methods", () => {
  it("answers unknown methods with Meteor's 404", () => {
    expect(decode(call("nope")).out).toEqual([
      { msg: "result", id: "m1", error: meteorError(404, "Method 'nope' not found") },
      updated,
    ]);
  });

  it("answers every method that needs a user with error-invalid-user before login", () => {
    for (const method of [
      "sendMessage",
      "loadHistory",
      "updateMessage",
      "deleteMessage",
      "setReaction",
      "pinMessage",
      "unpinMessage",
      "readMessages",
      "getThreadMessages",
      "rooms/get",
      "subscriptions/get",
      "getUsersOfRoom",
      "createDirectMessage",
      "stream-notify-room",
    ]) {
      const decoded = decode(call(method), connected(), null);
      expect(decoded.commands).toEqual([]);
      expect(decoded.out).toEqual([
        { msg: "result", id: "m1", error: meteorError("error-invalid-user", "Invalid user", { method }) },
        updated,
      ]);
    }
  });

  it("answers parameters of the wrong shape with Match failed", () => {
    for (const bad of [
      call("sendMessage", { rid: 5, msg: "x" }),
      call("sendMessage"),
      call("loadHistory", "general", "yesterday"),
      call("loadHistory", "general", null, 1000),
      call("updateMessage", { _id: "m" }),
      call("setReaction", ":x:"),
      call("getThreadMessages", { tmid: 4 }),
      call("getUsersOfRoom", "general", true, "all"),
      call("createDirectMessage"),
      call("rooms/get", "2024"),
    ])
      expect(decode(bad).out[0]).toEqual({
        msg: "result",
        id: "m1",
        error: meteorError(400, "Match failed"),
      });
  });

  it("sends a message with the client's _id as its temp id and answers the stored IMessage", () => {
    const stored = message({
      id: "srv-1",
      sender: ALICE,
      text: "hi @bob",
      temp_id: "cli-1",
      parent_id: "root-1",
      mentions: ["bob"],
      mentions_room: true,
    });
    const ack = { temp_id: "cli-1", id: "srv-1", seq: 5, epoch: "e1", created_at: NOW, duplicate: false };
    const answer = roundTrip(
      call("sendMessage", { _id: "cli-1", rid: "general", msg: "hi @bob", tmid: "root-1", extra: true }),
      ok({ kind: "sent", room: "general", ack, message: stored }),
    );
    expect(answer.command).toEqual({
      kind: "send",
      room: "general",
      draft: { temp_id: "cli-1", text: "hi @bob", parent_id: "root-1" },
    });
    expect(answer.out).toEqual([
      {
        msg: "result",
        id: "m1",
        result: {
          _id: "srv-1",
          rid: "general",
          msg: "hi @bob",
          ts: { $date: NOW_MS },
          u: { _id: "alice", username: "alice", name: "Alice" },
          _updatedAt: { $date: NOW_MS },
          urls: [],
          mentions: [
            { _id: "bob", username: "bob", type: "user" },
            { _id: "all", username: "all" },
          ],
          channels: [],
          tmid: "root-1",
        },
      },
      updated,
    ]);
    expect(answer.state.recent).toEqual([["srv-1", "general"]]);
  });

  it("derives distinct temp ids for messages sent without _id", () => {
    const first = decode(call("sendMessage", { rid: "general", msg: "a" }));
    const second = decode(call("sendMessage", { rid: "general", msg: "b" }), first.state);
    const tempIds = [first, second].map((d) => {
      const command = d.commands[0]?.command;
      return command?.kind === "send" ? command.draft.temp_id : null;
    });
    expect(tempIds).toEqual(["sess-1:1", "sess-1:2"]);
  });

  it("renders threads, reactions, pins, edits and tombstones as Rocket.Chat does", () => {
    const root = message({
      thread: {
        replies_count: 2,
        participants_count: 2,
        participants_preview: [BOB, ALICE],
        last_reply_at: NOW,
      },
      reactions: [{ emoji: ":+1:", count: 2, users: [ALICE, BOB] }],
      pinned_at: NOW,
      edited_at: NOW,
    });
    const events = encode(
      { type: "message_updated", room: "general", seq: 6, at: NOW, change: "thread", message: root },
      subscribed(["stream-room-messages", "general"]),
    );
    const fields = (events[0] as { fields: { args: Record<string, unknown>[] } }).fields;
    expect(fields.args[0]).toMatchObject({
      tcount: 2,
      replies: ["bob", "alice"],
      tlm: { $date: NOW_MS },
      reactions: { ":+1:": { usernames: ["alice", "bob"], names: ["Alice", "bob"] } },
      pinned: true,
      pinnedAt: { $date: NOW_MS },
      editedAt: { $date: NOW_MS },
      editedBy: { _id: "bob", username: "bob" },
    });
    const tombstone = encode(
      {
        type: "message_updated",
        room: "general",
        seq: 7,
        at: NOW,
        change: "edit",
        message: message({ deleted_at: NOW }),
      },
      subscribed(["stream-room-messages", "general"]),
    );
    expect((tombstone[0] as { fields: { args: Record<string, unknown>[] } }).fields.args[0]).toMatchObject({
      msg: "",
      t: "rm",
    });
  });

  it("loads history before the oldest loaded message, newest first", () => {
    const messages = [message({ id: "a", seq: 1 }), message({ id: "b", seq: 2 })];
    const end = Date.parse("2024-04-30T00:00:00.000Z");
    const answer = roundTrip(
      call("loadHistory", "general", { $date: end }, 50, { $date: end - 1000 }),
      ok({ kind: "history", room: "general", messages }),
    );
    expect(answer.command).toEqual({
      kind: "history",
      room: "general",
      query: { limit: 50, before_at: "2024-04-30T00:00:00.000Z" },
    });
    const result = (answer.out[0] as { result: { messages: { _id: string }[]; unreadNotLoaded: number } })
      .result;
    expect(result.messages.map((m) => m._id)).toEqual(["b", "a"]);
    expect(result.unreadNotLoaded).toBe(0);
    expect(decode(call("loadHistory", "general", null)).commands[0]?.command).toEqual({
      kind: "history",
      room: "general",
      query: { limit: 20 },
    });
  });

  it("edits, deletes, reacts and pins, naming the room by a remembered or unknown message", () => {
    const edit = roundTrip(
      call("updateMessage", { _id: "m-1", rid: "general", msg: "new" }),
      ok({ kind: "edited", room: "general", message: message({ text: "new" }) }),
    );
    expect(edit.command).toEqual({ kind: "edit", room: "general", message_id: "m-1", text: "new" });
    expect(edit.out).toEqual([{ msg: "result", id: "m1" }, updated]);
    expect(decode(call("deleteMessage", { _id: "m-9" })).commands[0]?.command).toEqual({
      kind: "delete",
      room: { message_id: "m-9" },
      message_id: "m-9",
    });
    const seen =
      ddpCodec.afterEvent?.(
        connected(),
        { type: "message", room: "general", seq: 5, at: NOW, message: message() },
        context(),
      ) ?? connected();
    expect(decode(call("setReaction", ":smile:", "m-1"), seen).commands[0]?.command).toEqual({
      kind: "react",
      room: "general",
      message_id: "m-1",
      emoji: ":smile:",
      add: "toggle",
    });
    expect(decode(call("setReaction", "smile", "m-2", false)).commands[0]?.command).toEqual({
      kind: "react",
      room: { message_id: "m-2" },
      message_id: "m-2",
      emoji: ":smile:",
      add: false,
    });
    const pin = roundTrip(
      call("pinMessage", { _id: "m-1", rid: "general" }),
      ok({ kind: "message_pinned", room: "general", message: message({ pinned_at: NOW }) }),
    );
    expect(pin.command).toEqual({ kind: "pin_message", room: "general", message_id: "m-1", pinned: true });
    expect(pin.out[0]).toMatchObject({ result: { _id: "m-1", pinned: true } });
    const unpin = roundTrip(
      call("unpinMessage", { _id: "m-1" }),
      ok({ kind: "message_pinned", room: "general", message: message() }),
    );
    expect(unpin.command).toEqual({
      kind: "pin_message",
      room: { message_id: "m-1" },
      message_id: "m-1",
      pinned: false,
    });
    expect(unpin.out[0]).toEqual({ msg: "result", id: "m1", result: true });
  });

  it("marks the room read", () => {
    const read = roundTrip(call("readMessages", "general"), ok({ kind: "read", room: "general", seq: 9 }));
    expect(read.command).toEqual({ kind: "read", room: "general", seq: null });
    expect(read.out).toEqual([{ msg: "result", id: "m1" }, updated]);
  });

  it("loads a thread's replies oldest first, refusing pages over 100 and serving no offset pages", () => {
    const replies = [message({ id: "r2", seq: 9 }), message({ id: "r1", seq: 8 })];
    const answer = roundTrip(
      call("getThreadMessages", { tmid: "root", limit: 10 }),
      ok({ kind: "history", room: "general", messages: replies }),
    );
    expect(answer.command).toEqual({
      kind: "history",
      room: { message_id: "root" },
      query: { thread_id: "root", limit: 10 },
    });
    expect((answer.out[0] as { result: { _id: string }[] }).result.map((m) => m._id)).toEqual(["r1", "r2"]);
    expect(decode(call("getThreadMessages", { tmid: "root", limit: 101 })).out[0]).toEqual({
      msg: "result",
      id: "m1",
      error: meteorError("error-not-allowed", "max limit: 100", { method: "getThreadMessages" }),
    });
    expect(decode(call("getThreadMessages", { tmid: "root", skip: 50 })).out).toEqual([
      { msg: "result", id: "m1", result: [] },
      updated,
    ]);
  });

  it("lists rooms and subscriptions, as lists or as {update, remove} after a date", () => {
    const rooms = ok({ kind: "rooms", listings: [listing()] });
    const roomsAnswer = roundTrip(call("rooms/get"), rooms);
    expect(roomsAnswer.command).toEqual({ kind: "list_rooms" });
    expect((roomsAnswer.out[0] as { result: unknown[] }).result).toEqual([
      {
        _id: "general",
        t: "c",
        name: "General",
        fname: "General",
        u: { _id: "bob", username: "bob" },
        ts: { $date: Date.parse("2024-01-01T00:00:00.000Z") },
        _updatedAt: { $date: NOW_MS },
        lastMessage: expect.objectContaining({ _id: "m-1", rid: "general" }),
        lm: { $date: NOW_MS },
      },
    ]);
    const subs = roundTrip(call("subscriptions/get", { $date: NOW_MS - 1000 }), rooms);
    expect((subs.out[0] as { result: unknown }).result).toEqual({
      update: [
        {
          _id: "general/alice",
          rid: "general",
          u: { _id: "alice", username: "alice", name: "Alice" },
          t: "c",
          name: "General",
          fname: "General",
          open: true,
          ts: { $date: Date.parse("2024-01-01T00:00:00.000Z") },
          _updatedAt: { $date: NOW_MS },
          unread: 3,
          alert: true,
          userMentions: 1,
          groupMentions: 0,
          f: false,
          roles: ["moderator"],
        },
      ],
      remove: [],
    });
  });

  it("maps room kinds to Rocket.Chat room types and names direct rooms after the other user", () => {
    const types = [
      room({ kind: "group", private: false }),
      room({ kind: "group", private: true }),
      room({ key: "dm:alice:bob", kind: "direct", name: null }),
      room({ kind: "live" }),
    ];
    const answer = roundTrip(
      call("subscriptions/get"),
      ok({ kind: "rooms", listings: types.map((r) => listing({ room: r, role: null })) }),
    );
    const result = (answer.out[0] as { result: { t: string; name: string }[] }).result;
    expect(result.map((s) => s.t)).toEqual(["c", "p", "d", "l"]);
    expect(result[2]?.name).toBe("bob");
  });

  it("lists a room's members with RC's paging and filter", () => {
    const members = [ALICE, BOB, { id: "carol", name: "Carol", avatar: null }];
    const answer = roundTrip(
      call("getUsersOfRoom", "general", true, { limit: 1, skip: 1 }, "o"),
      ok({ kind: "members", room: "general", members }),
    );
    expect(answer.command).toEqual({ kind: "members", room: "general" });
    expect((answer.out[0] as { result: unknown }).result).toEqual({
      total: 2,
      records: [{ _id: "carol", username: "carol", name: "Carol" }],
    });
  });

  it("creates direct rooms with one other user, or with oneself", () => {
    const answer = roundTrip(
      call("createDirectMessage", "bob"),
      ok({ kind: "direct", room: "dm:alice:bob" }),
    );
    expect(answer.command).toEqual({ kind: "create_direct", to: "bob" });
    expect((answer.out[0] as { result: unknown }).result).toEqual({
      t: "d",
      rid: "dm:alice:bob",
      usernames: ["alice", "bob"],
      uids: ["alice", "bob"],
    });
    expect(decode(call("createDirectMessage", "alice")).commands[0]?.command).toEqual({
      kind: "create_direct",
      to: "alice",
    });
    expect(decode(call("createDirectMessage", "bob", "carol")).out[0]).toMatchObject({
      error: { error: "error-not-allowed" },
    });
  });

  it("relays typing and user-activity emitted by the user, and drops other events", () => {
    const typing = roundTrip(
      call("stream-notify-room", "general/typing", "alice", true),
      ok({ kind: "typing" }),
    );
    expect(typing.command).toEqual({ kind: "typing", room: "general", typing: true });
    expect(typing.out).toEqual([{ msg: "result", id: "m1" }, updated]);
    expect(
      decode(call("stream-notify-room", "general/user-activity", "alice", ["user-typing"], {})).commands[0]
        ?.command,
    ).toEqual({ kind: "typing", room: "general", typing: true });
    expect(
      decode(call("stream-notify-room", "general/user-activity", "alice", [])).commands[0]?.command,
    ).toEqual({
      kind: "typing",
      room: "general",
      typing: false,
    });
    for (const dropped of [
      call("stream-notify-room", "general/typing", "bob", true),
      call("stream-notify-room", "general/videoconf", "x"),
    ]) {
      const decoded = decode(dropped);
      expect(decoded.commands).toEqual([]);
      expect(decoded.out).toEqual([{ msg: "result", id: "m1" }, updated]);
    }
  });

  it("answers rate limits with too-many-requests and the time to wait", () => {
    const answer = roundTrip(call("sendMessage", { rid: "general", msg: "x" }), failure("rate_limited", 3));
    expect(answer.out[0]).toEqual({
      msg: "result",
      id: "m1",
      error: meteorError(
        "too-many-requests",
        "Error, too many requests. Please slow down. You must wait 3 seconds before trying again.",
        { timeToReset: 3000 },
      ),
    });
  });

  it("maps refusals to Rocket.Chat's error codes", () => {
    const errorOf = (method: unknown, code: ErrorCode) =>
      (roundTrip(method, failure(code)).out[0] as { error: { error: unknown } }).error.error;
    const send = call("sendMessage", { rid: "general", msg: "x" });
    expect(errorOf(send, "forbidden")).toBe("error-not-allowed");
    expect(errorOf(send, "not_found")).toBe("error-invalid-room");
    expect(errorOf(call("deleteMessage", { _id: "m" }), "not_found")).toBe("error-invalid-message");
    expect(errorOf(send, "payload_too_large")).toBe("error-message-size-exceeded");
    expect(errorOf(send, "bad_request")).toBe(400);
    expect(errorOf(send, "conflict")).toBe(409);
    expect(errorOf(send, "unauthorized")).toBe("error-invalid-user");
    const internal = roundTrip(send, failure("internal")).out[0] as { error: unknown };
    expect(internal.error).toEqual(meteorError(500, "Internal server error"));
  });
});

describe("ddp codec: stream subscriptions", () => {
  it("follows a room for stream-room-messages in both parameter forms", () => {
    for (const options of [false, { useCollection: false, args: [null] }]) {
      const answer = roundTrip(
        { msg: "sub", id: "s1", name: "stream-room-messages", params: ["general", options] },
        ok({ kind: "subscribed", room: "general", head: 5, epoch: "e1" }),
      );
      expect(answer.command).toEqual({ kind: "subscribe", room: "general", since: null });
      expect(answer.out).toEqual([{ msg: "ready", subs: ["s1"] }]);
      expect(answer.state.subs).toEqual([{ id: "s1", stream: "room-messages", eventName: "general" }]);
    }
  });

  it("takes numeric room ids as room keys", () => {
    const decoded = decode({ msg: "sub", id: "s1", name: "stream-room-messages", params: ["42", false] });
    expect(decoded.commands[0]?.command).toEqual({ kind: "subscribe", room: "42", since: null });
  });

  it("sends the collection document before ready when useCollection is true, in both forms", () => {
    for (const options of [true, { useCollection: true }]) {
      const answer = roundTrip(
        { msg: "sub", id: "s1", name: "stream-room-messages", params: ["general", options] },
        ok({ kind: "subscribed", room: "general", head: 5, epoch: "e1" }),
      );
      expect(answer.out).toEqual([
        { msg: "added", collection: "stream-room-messages", id: "id", fields: { eventName: "general" } },
        { msg: "ready", subs: ["s1"] },
      ]);
    }
  });

  it("keeps rooms-changed and subscriptions-changed without following anything, and unsubs them at once", () => {
    let state = connected();
    for (const event of ["rooms-changed", "subscriptions-changed"]) {
      const answer = decode(
        { msg: "sub", id: event, name: "stream-notify-user", params: [`alice/${event}`, false] },
        state,
      );
      expect(answer.commands).toEqual([]);
      expect(answer.out).toEqual([{ msg: "ready", subs: [event] }]);
      state = answer.state;
    }
    expect(state.subs.map((sub) => sub.id)).toEqual(["rooms-changed", "subscriptions-changed"]);
    const dropped = decode({ msg: "unsub", id: "rooms-changed" }, state);
    expect(dropped.commands).toEqual([]);
    expect(dropped.out).toEqual([{ msg: "nosub", id: "rooms-changed" }]);
    expect(dropped.state.subs.map((sub) => sub.id)).toEqual(["subscriptions-changed"]);
  });

  it("follows all rooms for __my_messages__, notifications for notification", () => {
    const follows = [
      ["stream-room-messages", "__my_messages__", "rooms"],
      ["stream-notify-user", "alice/notification", "notifications"],
    ] as const;
    for (const [name, eventName, scope] of follows) {
      const answer = roundTrip(
        { msg: "sub", id: "s1", name, params: [eventName, { useCollection: false, args: [] }] },
        ok({ kind: "followed", scope }),
      );
      expect(answer.command).toEqual({ kind: "follow", scope });
      expect(answer.out).toEqual([{ msg: "ready", subs: ["s1"] }]);
    }
  });

  it("subscribes a room once for all its streams, and unsubscribes with the last", () => {
    const first = decode({ msg: "sub", id: "s1", name: "stream-room-messages", params: ["general", false] });
    expect(first.commands).toHaveLength(1);
    const second = decode(
      { msg: "sub", id: "s2", name: "stream-notify-room", params: ["general/typing", false] },
      first.state,
    );
    expect(second.commands).toEqual([]);
    expect(second.out).toEqual([{ msg: "ready", subs: ["s2"] }]);
    const dropOne = decode({ msg: "unsub", id: "s1" }, second.state);
    expect(dropOne.commands).toEqual([]);
    expect(dropOne.out).toEqual([{ msg: "nosub", id: "s1" }]);
    const last = roundTrip(
      { msg: "unsub", id: "s2" },
      ok({ kind: "unsubscribed", room: "general" }),
      dropOne.state,
    );
    expect(last.command).toEqual({ kind: "unsubscribe", room: "general" });
    expect(last.out).toEqual([{ msg: "nosub", id: "s2" }]);
    expect(last.state.subs).toEqual([]);
    const unfollow = roundTrip(
      { msg: "unsub", id: "s0" },
      ok({ kind: "unfollowed", scope: "rooms" }),
      subscribed(["stream-room-messages", "__my_messages__"]),
    );
    expect(unfollow.command).toEqual({ kind: "unfollow", scope: "rooms" });
  });

  it("answers unsub of an unknown id with nosub, and ignores a sub whose id is live", () => {
    expect(decode({ msg: "unsub", id: "zz" }).out).toEqual([{ msg: "nosub", id: "zz" }]);
    const state = subscribed(["stream-room-messages", "general"]);
    const again = decode(
      { msg: "sub", id: "s0", name: "stream-room-messages", params: ["general", false] },
      state,
    );
    expect(again.replies).toEqual([]);
    expect(again.commands).toEqual([]);
  });

  it("ends every sub of a room whose follow was refused", () => {
    const first = decode({ msg: "sub", id: "s1", name: "stream-room-messages", params: ["secret", false] });
    const second = decode(
      { msg: "sub", id: "s2", name: "stream-notify-room", params: ["secret/typing", false] },
      first.state,
    );
    const [tagged] = first.commands;
    if (!tagged) throw new Error("no command");
    const answer = ddpCodec.encodeOutcome(
      second.state,
      tagged.tag,
      tagged.command,
      failure("forbidden"),
      context(),
    );
    expect(parse(answer.frames)).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("not-allowed") },
      { msg: "nosub", id: "s2", error: meteorError("not-allowed") },
    ]);
    expect(answer.state.subs).toEqual([]);
  });

  it("refuses subs before login, unknown publications, other users' streams and bad event names", () => {
    const sub = (name: string, params: unknown[], user: Profile | null = ALICE) =>
      decode({ msg: "sub", id: "s1", name, params }, connected(), user).out;
    expect(sub("stream-room-messages", ["general", false], null)).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("not-allowed") },
    ]);
    expect(sub("meteor_autoupdate_clientVersions", [])).toEqual([
      {
        msg: "nosub",
        id: "s1",
        error: meteorError(404, "Subscription 'meteor_autoupdate_clientVersions' not found"),
      },
    ]);
    expect(sub("stream-notify-user", ["bob/notification", false])).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("not-allowed") },
    ]);
    expect(sub("stream-notify-room", ["typing", false])).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("not-allowed") },
    ]);
    expect(sub("stream-room-messages", ["", false])).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("invalid-event-name") },
    ]);
    expect(sub("stream-room-messages", [7])).toEqual([
      { msg: "nosub", id: "s1", error: meteorError("invalid-event-name") },
    ]);
  });

  it("accepts streams and events Parley never emits at once, without keeping them", () => {
    for (const [name, eventName] of [
      ["stream-notify-all", "public-settings-changed"],
      ["stream-notify-logged", "updateAvatar"],
      ["stream-notify-user", "alice/force_logout"],
      ["stream-notify-room", "general/videoconf"],
    ]) {
      const decoded = decode({ msg: "sub", id: "s1", name, params: [eventName, false] });
      expect(decoded.commands).toEqual([]);
      expect(decoded.out).toEqual([{ msg: "ready", subs: ["s1"] }]);
      expect(decoded.state.subs).toEqual([]);
    }
  });

  it("refuses subscriptions past the state budget and keeps the state within it", () => {
    let state = connected();
    let refused: unknown[] = [];
    for (let i = 0; i < 200 && refused.length === 0; i++) {
      const key = `${"k".repeat(120)}${i}`;
      const decoded = decode(
        {
          msg: "sub",
          id: `sub-${"i".repeat(40)}-${i}`,
          name: "stream-notify-room",
          params: [`${key}/user-activity`, false],
        },
        state,
      );
      state = decoded.state;
      refused = decoded.out.filter((o) => (o as { msg: string }).msg === "nosub");
    }
    expect(refused).toEqual([
      {
        msg: "nosub",
        id: expect.any(String),
        error: meteorError("too-many-subscriptions", "Too many subscriptions"),
      },
    ]);
    expect(JSON.stringify(state).length).toBeLessThanOrEqual(STATE_BUDGET_BYTES);
  });
});

describe("ddp codec: stream events", () => {
  const changed = (collection: string, eventName: string, args: unknown[]) => ({
    msg: "changed",
    collection,
    id: "id",
    fields: { eventName, args },
  });

  it("sends room messages to the room's and to __my_messages__ subscribers", () => {
    const event: ChatEvent = { type: "message", room: "general", seq: 5, at: NOW, message: message() };
    const frames = encode(
      event,
      subscribed(["stream-room-messages", "general"], ["stream-room-messages", "__my_messages__"]),
    );
    expect(frames).toEqual([
      changed("stream-room-messages", "general", [expect.objectContaining({ _id: "m-1", msg: "hello" })]),
      changed("stream-room-messages", "__my_messages__", [expect.objectContaining({ _id: "m-1" })]),
    ]);
    expect(encode(event, subscribed(["stream-room-messages", "other"]))).toEqual([]);
    expect(encode(event, connected())).toEqual([]);
  });

  it("sends a pinned message with its pin, and a whisper only to its parties", () => {
    const state = subscribed(["stream-room-messages", "general"]);
    const pinned = encode(
      { type: "message_pinned", room: "general", seq: 6, at: NOW, message: message(), pinned: true, by: BOB },
      state,
    );
    expect(pinned[0]).toMatchObject({ fields: { args: [{ pinned: true, pinnedAt: { $date: NOW_MS } }] } });
    const whisper = message({ to: "carol" });
    expect(encode({ type: "message", room: "general", seq: 7, at: NOW, message: whisper }, state)).toEqual(
      [],
    );
  });

  it("sends a reaction change as the message with its new reactions, and remembers its room", () => {
    const reactions = [{ emoji: ":+1:", count: 1, users: [BOB] }];
    const event: ChatEvent = {
      type: "reaction_changed",
      room: "general",
      seq: 8,
      at: NOW,
      message_id: "m-1",
      message_seq: 5,
      emoji: ":+1:",
      user: BOB,
      added: true,
      reactions,
      message: message({ reactions }),
    };
    const state = subscribed(["stream-room-messages", "general"]);
    expect(encode(event, state)).toEqual([
      changed("stream-room-messages", "general", [
        expect.objectContaining({ _id: "m-1", msg: "hello", reactions: { ":+1:": expect.any(Object) } }),
      ]),
    ]);
    expect(ddpCodec.afterEvent?.(state, event, context())?.recent).toContainEqual(["m-1", "general"]);
  });

  it("sends others' typing as typing and user-activity, never the user's own", () => {
    const state = subscribed(
      ["stream-notify-room", "general/typing"],
      ["stream-notify-room", "general/user-activity"],
    );
    const typing = (user: Profile, on: boolean): ChatEvent => ({
      type: "typing",
      room: "general",
      user,
      typing: on,
      at: NOW,
    });
    expect(encode(typing(BOB, true), state)).toEqual([
      changed("stream-notify-room", "general/typing", ["bob", true]),
      changed("stream-notify-room", "general/user-activity", ["bob", ["user-typing"]]),
    ]);
    expect(encode(typing(BOB, false), state)[1]).toEqual(
      changed("stream-notify-room", "general/user-activity", ["bob", []]),
    );
    expect(encode(typing(ALICE, true), state)).toEqual([]);
  });

  it("sends deletes and others' reads on the room's notify stream", () => {
    const state = subscribed(
      ["stream-notify-room", "general/deleteMessage"],
      ["stream-notify-room", "general/messagesRead"],
    );
    expect(
      encode(
        {
          type: "message_deleted",
          room: "general",
          seq: 8,
          at: NOW,
          message: message({ deleted_at: NOW }),
          parent: null,
        },
        state,
      ),
    ).toEqual([changed("stream-notify-room", "general/deleteMessage", [{ _id: "m-1" }])]);
    const read = (user_id: string): ChatEvent => ({
      type: "read",
      room: "general",
      user_id,
      seq: 5,
      message_seqs: [5],
      at: NOW,
    });
    expect(encode(read("bob"), state)).toEqual([
      changed("stream-notify-room", "general/messagesRead", [{ until: { $date: NOW_MS } }]),
    ]);
    expect(encode(read("alice"), state)).toEqual([]);
  });

  it("sends notifications as Rocket.Chat's desktop notification payload", () => {
    const state = subscribed(["stream-notify-user", "alice/notification"]);
    const notification: Notification = {
      id: "n1",
      kind: "mention",
      room: "general",
      message_id: "m-1",
      message_seq: 5,
      thread_id: "root",
      actor: BOB,
      text: "hi @alice",
      created_at: NOW,
      read_at: null,
    };
    expect(encode({ type: "notification", notification }, state)).toEqual([
      changed("stream-notify-user", "alice/notification", [
        {
          title: "General",
          text: "bob: hi @alice",
          payload: {
            _id: "m-1",
            rid: "general",
            tmid: "root",
            sender: { _id: "bob", username: "bob", name: "bob" },
            type: "c",
            name: "General",
            message: { msg: "hi @alice" },
          },
        },
      ]),
    ]);
    const added = { ...notification, kind: "added" as const, message_id: null };
    expect(encode({ type: "notification", notification: added }, state)).toEqual([]);
  });

  it("sends room list changes on rooms-changed and subscriptions-changed", () => {
    const state = subscribed(
      ["stream-notify-user", "alice/rooms-changed"],
      ["stream-notify-user", "alice/subscriptions-changed"],
    );
    const added = encode({ type: "room_added", room: "general", listing: listing() }, state);
    expect(added).toEqual([
      changed("stream-notify-user", "alice/rooms-changed", [
        "inserted",
        expect.objectContaining({ _id: "general", t: "c" }),
      ]),
      changed("stream-notify-user", "alice/subscriptions-changed", [
        "inserted",
        expect.objectContaining({ rid: "general", unread: 3 }),
      ]),
    ]);
    expect(encode({ type: "room_removed", room: "general", reason: "left" }, state)).toEqual([
      changed("stream-notify-user", "alice/rooms-changed", ["removed", { _id: "general" }]),
      changed("stream-notify-user", "alice/subscriptions-changed", [
        "removed",
        { _id: "general/alice", rid: "general", u: { _id: "alice", username: "alice", name: "Alice" } },
      ]),
    ]);
    expect(encode({ type: "room_deleted", room: "general", seq: 9, at: NOW }, state)).toHaveLength(2);
    expect(
      encode(
        { type: "room_updated", room: "general", seq: 9, at: NOW, info: room({ name: "Renamed" }) },
        state,
      ),
    ).toEqual([
      changed("stream-notify-user", "alice/rooms-changed", [
        "updated",
        expect.objectContaining({ name: "Renamed" }),
      ]),
    ]);
    const inbox = encode(
      { type: "inbox", room: "secret", unread: 2, mentions: 0, last_message: null, total_unread: 4 },
      state,
    );
    expect(inbox).toEqual([
      changed("stream-notify-user", "alice/subscriptions-changed", [
        "updated",
        expect.objectContaining({
          rid: "secret",
          t: "p",
          name: "Secret",
          unread: 2,
          alert: true,
          userMentions: 0,
        }),
      ]),
    ]);
    expect(encode({ type: "room_read", room: "general", seq: 3 }, state)[0]).toMatchObject({
      fields: { args: ["updated", { unread: 0, alert: false }] },
    });
    expect(encode({ type: "room_pinned", room: "general", pinned_at: NOW }, state)[0]).toMatchObject({
      fields: { args: ["updated", { f: true }] },
    });
    expect(encode({ type: "room_unpinned", room: "dm:alice:bob" }, state)[0]).toMatchObject({
      fields: { args: ["updated", { f: false, t: "d", name: "bob" }] },
    });
  });

  it("sends nothing before login", () => {
    const state = subscribed(["stream-room-messages", "general"]);
    expect(
      encode({ type: "message", room: "general", seq: 5, at: NOW, message: message() }, state, null),
    ).toEqual([]);
  });

  it("remembers the rooms of the latest messages it saw, a bounded number of them", () => {
    let state = connected();
    for (let i = 0; i < RECENT_MESSAGES + 5; i++)
      state =
        ddpCodec.afterEvent?.(
          state,
          {
            type: "message",
            room: `r${i}`,
            seq: i,
            at: NOW,
            message: message({ id: `m${i}`, room: `r${i}` }),
          },
          context(),
        ) ?? state;
    expect(state.recent).toHaveLength(RECENT_MESSAGES);
    expect(state.recent.at(-1)).toEqual([`m${RECENT_MESSAGES + 4}`, `r${RECENT_MESSAGES + 4}`]);
    expect(
      ddpCodec.afterEvent?.(
        state,
        { type: "typing", room: "x", user: BOB, typing: true, at: NOW },
        context(),
      ),
    ).toBe(state);
  });
});

describe("ddp codec: properties", () => {
  const states = fc.constantFrom(fresh(), connected(), subscribed(["stream-room-messages", "general"]));
  const users = fc.constantFrom<Profile | null>(null, ALICE);
  const ddpLike = fc.record(
    {
      msg: fc.constantFrom("connect", "ping", "pong", "sub", "unsub", "method", "nope", ""),
      id: fc.oneof(fc.string(), fc.integer()),
      name: fc.constantFrom("stream-room-messages", "stream-notify-room", "stream-notify-user", "x"),
      method: fc.constantFrom(
        "login",
        "sendMessage",
        "loadHistory",
        "setReaction",
        "getUsersOfRoom",
        "rooms/get",
        "stream-notify-room",
        "nope",
      ),
      params: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }),
      version: fc.constantFrom("1", "pre2"),
      support: fc.constantFrom(["1"], ["pre1"]),
    },
    { requiredKeys: ["msg"] },
  );

  /** Every WebSocket message the codec writes is one DDP message: a JSON object, never an array of them. */
  const oneMessageEach = (frames: string[]) =>
    frames.every((f) => {
      const value = JSON.parse(f);
      return typeof value === "object" && value !== null && !Array.isArray(value) && "msg" in value;
    });

  it("never throws on arbitrary text, bytes or JSON, and writes one DDP message per WebSocket message", () => {
    const frames = fc.oneof(
      fc.string(),
      fc.json(),
      ddpLike.map((m) => JSON.stringify(m)),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => bytes.buffer as ArrayBuffer),
    );
    fc.assert(
      fc.property(states, users, frames, (state, user, raw) => {
        const decoded = ddpCodec.decode(state, raw, context(user, 4096));
        expect(oneMessageEach(decoded.replies)).toBe(true);
        expect(ddpCodec.batch(decoded.replies)).toEqual(decoded.replies);
      }),
      { numRuns: 600 },
    );
  });

  it("answers every decoded command with single-message frames, whatever the outcome", () => {
    const outcomes = fc.constantFrom<CommandOutcome>(
      failure("forbidden"),
      failure("rate_limited", 2),
      failure("internal"),
      ok({ kind: "typing" }),
      ok({ kind: "followed", scope: "rooms" }),
      ok({ kind: "history", room: "general", messages: [message()] }),
    );
    fc.assert(
      fc.property(states, ddpLike, outcomes, (state, m, outcome) => {
        const decoded = ddpCodec.decode(state, JSON.stringify(m), context(ALICE));
        for (const { command, tag } of decoded.commands) {
          const answer = ddpCodec.encodeOutcome(decoded.state, tag, command, outcome, context(ALICE));
          expect(oneMessageEach(answer.frames)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
