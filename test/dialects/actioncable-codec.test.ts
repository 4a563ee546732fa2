import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ActionCableState,
  type ActionCableTag,
  actionCableCodec,
} from "../../src/dialects/actioncable/codec";
import {
  MAX_MESSAGE_SEQ,
  MAX_ROOM_NUMBER,
  memberNumber,
  messageNumber,
  placeOfMessage,
} from "../../src/dialects/actioncable/ids";
import type { SessionContext, TaggedCommand } from "../../src/dialects/codec";
import { CloseCode } from "../../src/domain/close-codes";
import type { Command, CommandOutcome } from "../../src/domain/commands";
import type { ErrorCode } from "../../src/domain/errors";
import type { ChatEvent, RoomListing } from "../../src/domain/events";
import type { Message, Notification, Profile, Room, RoomBrief } from "../../src/domain/model";

const codec = actionCableCodec;
const NOW = "2026-03-01T10:00:00.000Z";
const ME: Profile = { id: "7", name: "Mia", avatar: "https://example.com/mia.png" };
const BOB: Profile = { id: "8", name: "Bob", avatar: null };
const CAROL: Profile = { id: "9", name: null, avatar: null };

const GROUP: RoomBrief = { key: "r_group", number: 42, kind: "group", private: true, epoch: "e-group" };
const DIRECT: RoomBrief = { key: "dm:7:8", number: 43, kind: "direct", private: true, epoch: "e-direct" };
const LIVE: RoomBrief = { key: "r_live", number: 44, kind: "live", private: false, epoch: "e-live" };
const ROOMS = new Map([GROUP, DIRECT, LIVE].map((room) => [room.key, room]));

const EXT = "actioncable-v1-ext-json";
const PLAIN = "actioncable-v1-json";

function context(over: Partial<SessionContext> = {}): SessionContext {
  return {
    sessionId: "sess-1",
    user: ME,
    room: null,
    subprotocol: PLAIN,
    maxFrameBytes: 16_384,
    now: () => new Date(NOW),
    roomInfo: (key) => ROOMS.get(key) ?? null,
    ...over,
  };
}
const EXT_CTX = context({ subprotocol: EXT });

const fresh = (ctx = context()): ActionCableState => codec.initialState(ctx);
const json = (frame: string | undefined): unknown => JSON.parse(frame ?? "null");

const ID = {
  notifications: JSON.stringify({ channel: "NotificationChannel", community_member_id: 7 }),
  rooms: JSON.stringify({ channel: "ChatRoomChannel", community_member_id: 7 }),
  threads: JSON.stringify({ channel: "Chats::CommunityMemberThreadsChannel", community_member_id: 7 }),
  group: JSON.stringify({ channel: "Chats::RoomChannel", chat_room_uuid: GROUP.key }),
  groupById: JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: 42 }),
  direct: JSON.stringify({ channel: "Chats::RoomChannel", chat_room_uuid: DIRECT.key }),
  live: JSON.stringify({ channel: "Chats::RoomChannel", chat_room_uuid: LIVE.key }),
};

const decode = (state: ActionCableState, frame: unknown, ctx = context()) =>
  codec.decode(state, typeof frame === "string" ? frame : JSON.stringify(frame), ctx);

const subscribeFrame = (identifier: string, extra: Record<string, unknown> = {}) => ({
  command: "subscribe",
  identifier,
  ...extra,
});
const performFrame = (identifier: string, data: Record<string, unknown>) => ({
  command: "message",
  identifier,
  data: JSON.stringify(data),
});

const ok = (value: CommandOutcome & { ok: true }): CommandOutcome => value;
const failure = (code: ErrorCode, message = "refused"): CommandOutcome => ({
  ok: false,
  error: { code, message },
});

/** The host's success for a subscription's start command. */
function started(command: Command): CommandOutcome {
  if (command.kind === "follow") return ok({ ok: true, value: { kind: "followed", scope: command.scope } });
  if (command.kind !== "subscribe") throw new Error(`not a start command: ${command.kind}`);
  const room =
    typeof command.room === "string"
      ? command.room
      : [...ROOMS.values()].find((r) => r.number === (command.room as { number: number }).number)?.key;
  return ok({ ok: true, value: { kind: "subscribed", room: room ?? "unknown", head: 10, epoch: "e" } });
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

function answer(
  state: ActionCableState,
  tagged: TaggedCommand<ActionCableTag>,
  outcome: CommandOutcome,
  ctx = context(),
) {
  return codec.encodeOutcome(state, tagged.tag, tagged.command, outcome, ctx);
}

/** A session subscribed (and confirmed) to the given identifiers. */
function subscribed(identifiers: string[], ctx = context()): ActionCableState {
  let state = fresh(ctx);
  for (const identifier of identifiers) {
    const decoded = decode(state, subscribeFrame(identifier), ctx);
    state = decoded.state;
    for (const tagged of decoded.commands) state = answer(state, tagged, started(tagged.command), ctx).state;
  }
  expect(state.subscriptions.every((sub) => sub.confirmed)).toBe(true);
  return state;
}

function message(over: Partial<Message> = {}): Message {
  return {
    id: "0195-msg",
    room: GROUP.key,
    seq: 17,
    sender: BOB,
    type: "text",
    text: "hello",
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    parent_seq: null,
    temp_id: "c-uuid-1",
    created_at: "2026-03-01T09:59:00.000Z",
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: 17,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...over,
  };
}

const REPLY = message({ id: "0195-reply", seq: 20, parent_id: "0195-root", parent_seq: 12, temp_id: "c-2" });
const ROOT = message({
  id: "0195-root",
  seq: 12,
  thread: { replies_count: 3, participants_count: 2, participants_preview: [BOB, CAROL], last_reply_at: NOW },
});

const at = "2026-03-01T10:00:00.000Z";
const newMessage = (m: Message): ChatEvent => ({ type: "message", room: m.room, seq: m.seq, at, message: m });

const ROOM_INFO: Room = {
  key: GROUP.key,
  number: 42,
  kind: "group",
  name: "Designers",
  description: "Pixels",
  metadata: { show_history: false },
  private: true,
  created_by: "7",
  created_at: NOW,
  epoch: "e-group",
};

function encode(state: ActionCableState, event: ChatEvent, ctx = context()) {
  return codec.encodeEvent(state, event, ctx).map(json);
}

/** The `{event, data}` one subscription receives, checking the envelope. */
function received(state: ActionCableState, event: ChatEvent, identifier: string, ctx = context()) {
  const frames = encode(state, event, ctx) as { identifier: string; message: unknown }[];
  const frame = only(frames.filter((f) => f.identifier === identifier));
  return frame.message as { event: string; data: Record<string, unknown> };
}

const expectedMessage = (m: Message, room: RoomBrief) => ({
  id: room.number * 1_000_000_000 + m.seq,
  chat_room_uuid: m.room,
  chat_room_kind: { group: "group_chat", direct: "direct", live: "embedded" }[room.kind],
  chat_room_participant_id: Number(m.sender.id),
  body: m.text,
  rich_text_body: m.data,
  sent_at: m.created_at,
  created_at: m.created_at,
  edited_at: m.edited_at,
  sender: {
    id: Number(m.sender.id),
    community_member_id: Number(m.sender.id),
    name: m.sender.name,
    avatar_url: m.sender.avatar,
  },
  creation_uuid: m.temp_id,
  chat_thread_id:
    m.parent_seq != null
      ? room.number * 1_000_000_000 + m.parent_seq
      : m.thread
        ? room.number * 1_000_000_000 + m.seq
        : null,
  parent_message_id: m.parent_seq == null ? null : room.number * 1_000_000_000 + m.parent_seq,
  lesson_id: null,
  replies_count: m.thread?.replies_count ?? 0,
  total_thread_participants_count: m.thread?.participants_count ?? 0,
  thread_participants_preview: (m.thread?.participants_preview ?? []).map((p) => ({
    id: Number(p.id),
    community_member_id: Number(p.id),
    name: p.name,
    avatar_url: p.avatar,
  })),
  chat_thread_replies_count: m.thread?.replies_count ?? 0,
});

describe("actioncable ids", () => {
  it("numbers a message by its room's number and its seq, and reads the number back", () => {
    expect(messageNumber(42, 17)).toBe(42_000_000_017);
    expect(placeOfMessage(42_000_000_017)).toEqual({ roomNumber: 42, seq: 17 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_ROOM_NUMBER }),
        fc.integer({ min: 1, max: MAX_MESSAGE_SEQ }),
        (r, s) => {
          const n = messageNumber(r, s);
          expect(Number.isSafeInteger(n)).toBe(true);
          expect(placeOfMessage(n)).toEqual({ roomNumber: r, seq: s });
        },
      ),
    );
  });

  it("refuses numbers that name no message", () => {
    for (const n of [0, -1, 1.5, 17, 42_000_000_000, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity])
      expect(placeOfMessage(n)).toBeNull();
  });

  it("sends numeric member ids as numbers and other ids as strings", () => {
    expect(memberNumber("7")).toBe(7);
    expect(memberNumber("0")).toBe(0);
    expect(memberNumber("007")).toBe("007");
    expect(memberNumber("alice")).toBe("alice");
    expect(memberNumber("99999999999999999")).toBe("99999999999999999");
  });
});

describe("actioncable handshake", () => {
  it("serves /cable on the user's object and needs a URL token", () => {
    expect(codec.endpoints).toEqual([{ path: "/cable", scope: "user" }]);
    expect(codec.auth).toBe("url");
    expect(codec.initialFollows).toBeUndefined();
    expect(codec.idleLimitMs(fresh())).toBeNull();
  });

  it("echoes the extended protocol when offered, else Rails' protocol, and refuses foreign offers", () => {
    expect(codec.chooseSubprotocol(["actioncable-v1-json", "actioncable-unsupported"])).toBe(PLAIN);
    expect(codec.chooseSubprotocol([EXT, "anycable-token.abc"])).toBe(EXT);
    expect(codec.chooseSubprotocol([PLAIN, EXT])).toBe(EXT);
    expect(codec.chooseSubprotocol([])).toBeNull();
    expect(codec.chooseSubprotocol(["actioncable-unsupported"])).toBe(false);
    expect(codec.chooseSubprotocol(["anycable-token.abc"])).toBe(false);
  });

  it("reads @anycable/core's token subprotocol", () => {
    expect(codec.tokenFromSubprotocols?.([EXT, "anycable-token.eyJ.x.y"])).toBe("eyJ.x.y");
    expect(codec.tokenFromSubprotocols?.([EXT, "anycable-token."])).toBeNull();
    expect(codec.tokenFromSubprotocols?.([PLAIN])).toBeNull();
  });

  it("welcomes first: bare on Rails' protocol, with the session id on the extended one", () => {
    expect(codec.open?.(fresh(), context()).frames.map(json)).toEqual([{ type: "welcome" }]);
    expect(codec.open?.(fresh(EXT_CTX), EXT_CTX).frames.map(json)).toEqual([
      { type: "welcome", sid: "sess-1" },
    ]);
    expect(fresh(EXT_CTX).ext).toBe(true);
    expect(fresh().ext).toBe(false);
  });

  it("pings every 3 s with the unix time in seconds, increasing", () => {
    const beat = codec.heartbeat;
    expect(beat?.intervalMs).toBe(3000);
    const times = [0, 3000, 6000, 9000].map((ms) => Date.parse(NOW) + ms);
    const pings = times.map((t) =>
      json(beat?.beat(fresh(), context({ now: () => new Date(t) }), t).frames[0]),
    );
    expect(pings[0]).toEqual({ type: "ping", message: Date.parse(NOW) / 1000 });
    const seconds = pings.map((p) => (p as { message: number }).message);
    expect(seconds.every((s, i) => i === 0 || s > (seconds[i - 1] as number))).toBe(true);
    expect(seconds.every(Number.isInteger)).toBe(true);
  });

  it("sends disconnect with a reason and a reconnect flag before every server close", () => {
    const cases: [number, string, boolean][] = [
      [CloseCode.NoAuthToken, "unauthorized", false],
      [CloseCode.InvalidToken, "unauthorized", false],
      [CloseCode.UnauthorizedAction, "unauthorized", false],
      [CloseCode.ServerShutdown, "server_restart", true],
      [CloseCode.ServerError, "server_restart", true],
      [CloseCode.AdminAction, "remote", false],
      [CloseCode.Banned, "remote", false],
      [CloseCode.HatefulSpeech, "remote", false],
      [CloseCode.NewDevice, "remote", false],
      [CloseCode.BadMessageStructure, "invalid_request", false],
      [CloseCode.Afk, "idle_timeout", true],
      [CloseCode.ConnectionClosed, "remote", true],
      [1001, "remote", true],
    ];
    for (const [code, reason, reconnect] of cases) {
      const frames = codec.closeFrames?.(fresh(), { code, reason: "x" }, context()) ?? [];
      expect(frames.map(json), `close ${code}`).toEqual([{ type: "disconnect", reason, reconnect }]);
    }
  });
});

describe("actioncable subscriptions", () => {
  const cases: [keyof typeof ID, Command][] = [
    ["notifications", { kind: "follow", scope: "notifications" }],
    ["rooms", { kind: "follow", scope: "rooms" }],
    ["threads", { kind: "follow", scope: "threads" }],
    ["group", { kind: "subscribe", room: GROUP.key, since: null }],
    ["groupById", { kind: "subscribe", room: { number: 42 }, since: null }],
  ];
  for (const [name, command] of cases) {
    it(`subscribes ${name} with ${command.kind} and confirms once the host did`, () => {
      const decoded = decode(fresh(), subscribeFrame(ID[name]));
      expect(decoded.replies).toEqual([]);
      const tagged = only(decoded.commands);
      expect(tagged.command).toEqual(command);
      const done = answer(decoded.state, tagged, started(tagged.command));
      expect(done.frames.map(json)).toEqual([{ identifier: ID[name], type: "confirm_subscription" }]);
      expect(done.state.subscriptions).toEqual([
        expect.objectContaining({ identifier: ID[name], confirmed: true }),
      ]);
    });
  }

  it("learns a room's key and number from the host's answer", () => {
    const state = subscribed([ID.groupById]);
    expect(state.subscriptions[0]).toMatchObject({ key: GROUP.key, number: 42 });
  });

  it("rejects when the host refuses, and forgets the subscription", () => {
    const decoded = decode(fresh(), subscribeFrame(ID.group));
    const done = answer(decoded.state, only(decoded.commands), failure("forbidden"));
    expect(done.frames.map(json)).toEqual([{ identifier: ID.group, type: "reject_subscription" }]);
    expect(done.state.subscriptions).toEqual([]);
  });

  it("echoes the identifier byte for byte, whatever its spacing, key order and escapes", () => {
    const identifier = '{ "community_member_id" : "7",\n"channel":"Notification\\u0043hannel", "x": "é" }';
    const decoded = decode(fresh(), subscribeFrame(identifier));
    const done = answer(decoded.state, only(decoded.commands), started(only(decoded.commands).command));
    expect(only(done.frames)).toBe(JSON.stringify({ identifier, type: "confirm_subscription" }));
    expect((json(only(done.frames)) as { identifier: string }).identifier).toBe(identifier);
  });

  it("treats a repeated subscribe as a no-op, pending or confirmed, as Rails does", () => {
    const first = decode(fresh(), subscribeFrame(ID.rooms));
    const again = decode(first.state, subscribeFrame(ID.rooms));
    expect(again).toEqual({ state: first.state, commands: [], replies: [] });
    const confirmed = answer(first.state, only(first.commands), started(only(first.commands).command)).state;
    expect(decode(confirmed, subscribeFrame(ID.rooms))).toEqual({
      state: confirmed,
      commands: [],
      replies: [],
    });
  });

  it("asks the host once for two identifiers of the same target and answers both", () => {
    const other = JSON.stringify({ channel: "ChatRoomChannel", community_member_id: "7" });
    const first = decode(fresh(), subscribeFrame(ID.rooms));
    const second = decode(first.state, subscribeFrame(other));
    expect(second.commands).toEqual([]);
    expect(second.replies).toEqual([]);
    const done = answer(second.state, only(first.commands), started(only(first.commands).command));
    expect(done.frames.map(json)).toEqual([
      { identifier: ID.rooms, type: "confirm_subscription" },
      { identifier: other, type: "confirm_subscription" },
    ]);
    const third = JSON.stringify({ community_member_id: 7, channel: "ChatRoomChannel" });
    const late = decode(done.state, subscribeFrame(third));
    expect(late.commands).toEqual([]);
    expect(late.replies.map(json)).toEqual([{ identifier: third, type: "confirm_subscription" }]);
  });

  it("answers a waiting twin even when the identifier that asked is gone", () => {
    const other = JSON.stringify({ channel: "ChatRoomChannel", community_member_id: "7" });
    const first = decode(fresh(), subscribeFrame(ID.rooms));
    const second = decode(first.state, subscribeFrame(other));
    const gone = decode(second.state, { command: "unsubscribe", identifier: ID.rooms });
    expect(gone.commands).toEqual([]);
    const done = answer(gone.state, only(first.commands), started(only(first.commands).command));
    expect(done.frames.map(json)).toEqual([{ identifier: other, type: "confirm_subscription" }]);
  });

  it("rejects another member's channels, unknown channels and malformed identifiers at once", () => {
    const refused = [
      JSON.stringify({ channel: "NotificationChannel", community_member_id: 8 }),
      JSON.stringify({ channel: "ChatRoomChannel", community_member_id: "8" }),
      JSON.stringify({ channel: "Chats::CommunityMemberThreadsChannel" }),
      JSON.stringify({ channel: "AdminChannel", community_member_id: 7 }),
      JSON.stringify({ channel: "Chats::RoomChannel" }),
      JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: -3 }),
      JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: MAX_ROOM_NUMBER + 1 }),
      JSON.stringify({ channel: "Chats::RoomChannel", chat_room_uuid: "" }),
      JSON.stringify({ channel: "ChatRoomChannel", community_member_id: 7, pad: "x".repeat(300) }),
      "NotificationChannel",
      "[1,2]",
      "{",
    ];
    for (const identifier of refused) {
      const decoded = decode(fresh(), subscribeFrame(identifier));
      expect(decoded.commands, identifier).toEqual([]);
      expect(decoded.replies.map(json), identifier).toEqual([{ identifier, type: "reject_subscription" }]);
      expect(decoded.state.subscriptions).toEqual([]);
    }
  });

  it("reads a room number written as a string and prefers the uuid when both are given", () => {
    const byString = decode(
      fresh(),
      subscribeFrame(JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: "42" })),
    );
    expect(only(byString.commands).command).toEqual({ kind: "subscribe", room: { number: 42 }, since: null });
    const both = JSON.stringify({
      channel: "Chats::RoomChannel",
      chat_room_id: 1,
      chat_room_uuid: GROUP.key,
    });
    expect(only(decode(fresh(), subscribeFrame(both)).commands).command).toMatchObject({ room: GROUP.key });
  });

  it("rejects subscriptions beyond 16 per socket", () => {
    const ids = Array.from({ length: 16 }, (_, i) =>
      JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: i + 1 }),
    );
    let state = fresh();
    for (const identifier of ids) state = decode(state, subscribeFrame(identifier)).state;
    const extra = decode(state, subscribeFrame(ID.group));
    expect(extra.replies.map(json)).toEqual([{ identifier: ID.group, type: "reject_subscription" }]);
    expect(JSON.stringify(extra.state).length).toBeLessThan(8192);
  });

  it("unsubscribes without an answer, stopping the target when its last subscription goes", () => {
    const other = JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: 42 });
    const state = subscribed([ID.group, other, ID.rooms]);
    const first = decode(state, { command: "unsubscribe", identifier: ID.group });
    expect(first.replies).toEqual([]);
    expect(first.commands).toEqual([]);
    const last = decode(first.state, { command: "unsubscribe", identifier: other });
    expect(last.replies).toEqual([]);
    const stop = only(last.commands);
    expect(stop.command).toEqual({ kind: "unsubscribe", room: GROUP.key });
    expect(
      answer(last.state, stop, { ok: true, value: { kind: "unsubscribed", room: GROUP.key } }).frames,
    ).toEqual([]);
    const rooms = decode(last.state, { command: "unsubscribe", identifier: ID.rooms });
    expect(only(rooms.commands).command).toEqual({ kind: "unfollow", scope: "rooms" });
    expect(rooms.state.subscriptions).toEqual([]);
  });

  it("ignores unsubscribing an unknown identifier, and answers nothing for one gone while pending", () => {
    expect(decode(fresh(), { command: "unsubscribe", identifier: ID.group })).toEqual({
      state: fresh(),
      commands: [],
      replies: [],
    });
    const pending = decode(fresh(), subscribeFrame(ID.group));
    const gone = decode(pending.state, { command: "unsubscribe", identifier: ID.group });
    expect(only(gone.commands).command).toEqual({ kind: "unsubscribe", room: GROUP.key });
    expect(
      answer(gone.state, only(pending.commands), started(only(pending.commands).command)).frames,
    ).toEqual([]);
  });
});

describe("actioncable actions", () => {
  const state = subscribed([ID.group, ID.rooms, ID.threads, ID.notifications]);
  const perform = (identifier: string, data: Record<string, unknown>) =>
    decode(state, performFrame(identifier, data));
  const command = (identifier: string, data: Record<string, unknown>) => {
    const decoded = perform(identifier, data);
    expect(decoded.replies).toEqual([]);
    return only(decoded.commands);
  };
  const errorOf = (identifier: string, data: unknown) => {
    const decoded = decode(state, {
      command: "message",
      identifier,
      data: typeof data === "string" ? data : JSON.stringify(data),
    });
    expect(decoded.commands).toEqual([]);
    return json(only(decoded.replies)) as {
      identifier: string;
      message: { event: string; data: Record<string, unknown> };
    };
  };
  const ROOT_ID = messageNumber(42, 12);

  it("sends a message with creation_uuid as the idempotency key", () => {
    const rich = { type: "doc", content: [{ type: "paragraph" }] };
    const tagged = command(ID.group, {
      action: "send_message",
      body: "hi",
      creation_uuid: "c-1",
      rich_text_body: rich,
    });
    expect(tagged.command).toEqual({
      kind: "send",
      room: GROUP.key,
      draft: { temp_id: "c-1", text: "hi", parent_id: null, data: rich },
    });
    expect(tagged.tag).toEqual({
      answer: "action",
      identifier: ID.group,
      action: "send_message",
      creation_uuid: "c-1",
    });
  });

  it("replies in a thread by the parent's number, on the room channel or the threads channel", () => {
    const onRoom = command(ID.group, {
      action: "send_message",
      body: "re",
      creation_uuid: "c-2",
      parent_message_id: ROOT_ID,
    });
    expect(onRoom.command).toEqual({
      kind: "send",
      room: GROUP.key,
      draft: { temp_id: "c-2", text: "re", parent_id: { seq: 12 } },
    });
    const onThreads = command(ID.threads, {
      action: "send_message",
      body: "re",
      creation_uuid: "c-3",
      parent_message_id: ROOT_ID,
    });
    expect(onThreads.command).toMatchObject({ room: { number: 42 }, draft: { parent_id: { seq: 12 } } });
  });

  it("sends on the member's channel to the room it names", () => {
    const byUuid = command(ID.rooms, {
      action: "send_message",
      body: "x",
      creation_uuid: "c",
      chat_room_uuid: DIRECT.key,
    });
    expect(byUuid.command).toMatchObject({ kind: "send", room: DIRECT.key });
    const byId = command(ID.rooms, {
      action: "send_message",
      body: "x",
      creation_uuid: "c",
      chat_room_id: 43,
    });
    expect(byId.command).toMatchObject({ kind: "send", room: { number: 43 } });
  });

  it("edits and deletes a message by its number", () => {
    const rich = { type: "doc" };
    expect(
      command(ID.group, { action: "edit_message", id: ROOT_ID, body: "fixed", rich_text_body: rich }).command,
    ).toEqual({
      kind: "edit",
      room: GROUP.key,
      message_id: { seq: 12 },
      text: "fixed",
      data: rich,
    });
    expect(command(ID.rooms, { action: "edit_message", id: ROOT_ID, body: "fixed" }).command).toEqual({
      kind: "edit",
      room: { number: 42 },
      message_id: { seq: 12 },
      text: "fixed",
    });
    expect(command(ID.group, { action: "delete_message", id: ROOT_ID }).command).toEqual({
      kind: "delete",
      room: GROUP.key,
      message_id: { seq: 12 },
    });
  });

  it("marks a room read, pins and unpins it", () => {
    expect(command(ID.group, { action: "mark_room_read" }).command).toEqual({
      kind: "read",
      room: GROUP.key,
      seq: null,
    });
    expect(command(ID.rooms, { action: "mark_room_read", chat_room_uuid: DIRECT.key }).command).toEqual({
      kind: "read",
      room: DIRECT.key,
      seq: null,
    });
    expect(command(ID.rooms, { action: "pin_room", chat_room_id: 43 }).command).toEqual({
      kind: "pin_room",
      room: { number: 43 },
      pinned: true,
    });
    expect(command(ID.group, { action: "unpin_room" }).command).toEqual({
      kind: "pin_room",
      room: GROUP.key,
      pinned: false,
    });
  });

  it("marks a thread read by its root's number", () => {
    expect(command(ID.threads, { action: "mark_thread_read", chat_thread_id: ROOT_ID }).command).toEqual({
      kind: "read_thread",
      room: { number: 42 },
      thread_id: { seq: 12 },
    });
  });

  it("marks notifications read, one or all", () => {
    expect(command(ID.notifications, { action: "mark_notifications_read" }).command).toEqual({
      kind: "notifications_read",
      id: null,
    });
    expect(
      command(ID.notifications, { action: "mark_notifications_read", notification_id: "n-1" }).command,
    ).toEqual({
      kind: "notifications_read",
      id: "n-1",
    });
  });

  it("answers a refused action with an error message on its identifier, and a success with nothing", () => {
    const tagged = command(ID.group, { action: "send_message", body: "hi", creation_uuid: "c-9" });
    const refused = answer(state, tagged, failure("rate_limited", "slow down"));
    expect(refused.frames.map(json)).toEqual([
      {
        identifier: ID.group,
        message: {
          event: "error",
          data: { code: "rate_limited", message: "slow down", action: "send_message", creation_uuid: "c-9" },
        },
      },
    ]);
    const read = command(ID.group, { action: "mark_room_read" });
    expect(
      answer(state, read, { ok: true, value: { kind: "read", room: GROUP.key, seq: 3 } }).frames,
    ).toEqual([]);
    expect(answer(state, read, failure("forbidden")).frames.map(json)).toEqual([
      {
        identifier: ID.group,
        message: {
          event: "error",
          data: { code: "forbidden", message: "refused", action: "mark_room_read" },
        },
      },
    ]);
  });

  it("refuses bad actions with a bad_request error message", () => {
    const refusals: [string, unknown, string | null][] = [
      [ID.group, { action: "fly" }, "fly"],
      [ID.group, "not json", null],
      [ID.group, "[]", null],
      [ID.group, { body: "no action" }, null],
      [ID.group, { action: "send_message", body: "no uuid" }, "send_message"],
      [ID.group, { action: "send_message", body: 5, creation_uuid: "c" }, "send_message"],
      [ID.group, { action: "edit_message", id: 17, body: "x" }, "edit_message"],
      [ID.group, { action: "delete_message", id: messageNumber(43, 1) }, "delete_message"],
      [ID.group, { action: "mark_notifications_read" }, "mark_notifications_read"],
      [ID.notifications, { action: "mark_room_read" }, "mark_room_read"],
      [ID.threads, { action: "pin_room", chat_room_id: 42 }, "pin_room"],
      [ID.rooms, { action: "mark_room_read" }, "mark_room_read"],
      [ID.rooms, { action: "send_message", body: "x", creation_uuid: "c" }, "send_message"],
    ];
    for (const [identifier, data, action] of refusals) {
      const reply = errorOf(identifier, data);
      expect(reply.identifier).toBe(identifier);
      expect(reply.message.event, JSON.stringify(data)).toBe("error");
      expect(reply.message.data).toMatchObject({ code: "bad_request", action });
      expect(typeof reply.message.data.message).toBe("string");
    }
  });

  it("refuses actions on identifiers the session has not subscribed", () => {
    const reply = errorOf(ID.direct, { action: "mark_room_read" });
    expect(reply).toEqual({
      identifier: ID.direct,
      message: {
        event: "error",
        data: { code: "bad_request", message: "subscribe to this identifier first", action: null },
      },
    });
  });

  it("refuses a message action in a room channel whose room number the host cannot tell", () => {
    const identifier = JSON.stringify({ channel: "Chats::RoomChannel", chat_room_uuid: "r_unknown" });
    const unknown = subscribed([identifier]);
    const decoded = decode(unknown, performFrame(identifier, { action: "delete_message", id: ROOT_ID }));
    expect(decoded.commands).toEqual([]);
    expect(json(only(decoded.replies))).toMatchObject({
      identifier,
      message: { event: "error", data: { code: "bad_request", action: "delete_message" } },
    });
    const read = decode(unknown, performFrame(identifier, { action: "mark_room_read" }));
    expect(only(read.commands).command).toEqual({ kind: "read", room: "r_unknown", seq: null });
  });

  it("refuses action data nested deeper than 32 levels", () => {
    const deep = `{"action":"send_message","body":"x","creation_uuid":"c","rich_text_body":${'{"a":'.repeat(40)}1${"}".repeat(40)}}`;
    expect(errorOf(ID.group, deep).message.data).toMatchObject({ code: "bad_request", action: null });
  });
});

describe("actioncable broadcasts", () => {
  const state = subscribed([ID.group, ID.live, ID.rooms, ID.threads, ID.notifications]);

  it("wraps every event as {identifier, message: {event, data}} and sends it to each subscription it concerns", () => {
    const frames = encode(state, newMessage(message()));
    expect(frames).toEqual([
      { identifier: ID.group, message: { event: "newMessage", data: expectedMessage(message(), GROUP) } },
      { identifier: ID.rooms, message: { event: "newMessage", data: expectedMessage(message(), GROUP) } },
    ]);
  });

  it("builds the JSONMessage field by field", () => {
    const rich = { type: "doc", content: [] };
    const m = message({ data: rich, edited_at: "2026-03-01T09:59:30.000Z" });
    expect(received(state, newMessage(m), ID.group).data).toEqual({
      id: 42_000_000_017,
      chat_room_uuid: "r_group",
      chat_room_kind: "group_chat",
      chat_room_participant_id: 8,
      body: "hello",
      rich_text_body: rich,
      sent_at: "2026-03-01T09:59:00.000Z",
      created_at: "2026-03-01T09:59:00.000Z",
      edited_at: "2026-03-01T09:59:30.000Z",
      sender: { id: 8, community_member_id: 8, name: "Bob", avatar_url: null },
      creation_uuid: "c-uuid-1",
      chat_thread_id: null,
      parent_message_id: null,
      lesson_id: null,
      replies_count: 0,
      total_thread_participants_count: 0,
      thread_participants_preview: [],
      chat_thread_replies_count: 0,
    });
    expect(received(state, newMessage(message({ data: "plain" })), ID.group).data.rich_text_body).toBeNull();
  });

  it("numbers threads by their root: a reply names its parent, a root with replies itself", () => {
    expect(received(state, newMessage(REPLY), ID.group).data).toEqual(expectedMessage(REPLY, GROUP));
    expect(received(state, newMessage(REPLY), ID.group).data).toMatchObject({
      chat_thread_id: 42_000_000_012,
      parent_message_id: 42_000_000_012,
    });
    const updated: ChatEvent = {
      type: "message_updated",
      room: GROUP.key,
      seq: 21,
      at,
      change: "thread",
      message: ROOT,
    };
    expect(received(state, updated, ID.group)).toEqual({
      event: "updatedMessage",
      data: expectedMessage(ROOT, GROUP),
    });
    expect(received(state, updated, ID.group).data).toMatchObject({
      chat_thread_id: 42_000_000_012,
      parent_message_id: null,
      replies_count: 3,
      chat_thread_replies_count: 3,
      total_thread_participants_count: 2,
      thread_participants_preview: [
        { id: 8, community_member_id: 8, name: "Bob", avatar_url: null },
        { id: 9, community_member_id: 9, name: null, avatar_url: null },
      ],
    });
  });

  it("sends replies on the room and threads channels, not on the member's room list", () => {
    const frames = encode(state, newMessage(REPLY)) as { identifier: string }[];
    expect(frames.map((f) => f.identifier)).toEqual([ID.group, ID.threads]);
  });

  it("keeps live (embedded) rooms off the member's room list", () => {
    const live = message({ room: LIVE.key });
    const frames = encode(state, newMessage(live)) as {
      identifier: string;
      message: { data: { chat_room_kind: string } };
    }[];
    expect(frames.map((f) => f.identifier)).toEqual([ID.live]);
    expect(frames[0]?.message.data.chat_room_kind).toBe("embedded");
  });

  it("sends whispers only to their sender and recipient", () => {
    expect(encode(state, newMessage(message({ to: "9" })))).toEqual([]);
    expect(encode(state, newMessage(message({ to: "7" })))).toHaveLength(2);
  });

  it("sends a deletion with its thread root as it is now", () => {
    const tombstone = { ...REPLY, text: "", deleted_at: at };
    const deleted: ChatEvent = {
      type: "message_deleted",
      room: GROUP.key,
      seq: 30,
      at,
      message: tombstone,
      parent: ROOT,
    };
    expect(received(state, deleted, ID.group)).toEqual({
      event: "deletedMessage",
      data: { id: 42_000_000_020, parent_message: expectedMessage(ROOT, GROUP) },
    });
    expect(received(state, deleted, ID.threads).event).toBe("deletedMessage");
    const plain: ChatEvent = {
      type: "message_deleted",
      room: GROUP.key,
      seq: 31,
      at,
      message: message(),
      parent: null,
    };
    expect(received(state, plain, ID.group).data).toEqual({ id: 42_000_000_017, parent_message: null });
    expect((encode(state, plain) as { identifier: string }[]).map((f) => f.identifier)).toEqual([ID.group]);
  });

  it("sends edits of thread messages on the threads channel, others only on the room channel", () => {
    const edit = (m: Message): ChatEvent => ({
      type: "message_updated",
      room: m.room,
      seq: 40,
      at,
      change: "edit",
      message: m,
    });
    expect((encode(state, edit(REPLY)) as { identifier: string }[]).map((f) => f.identifier)).toEqual([
      ID.group,
      ID.threads,
    ]);
    expect((encode(state, edit(message())) as { identifier: string }[]).map((f) => f.identifier)).toEqual([
      ID.group,
    ]);
  });

  it("sends room updates as SimplifiedChatRoom on the room channel and the member's list", () => {
    const event: ChatEvent = { type: "room_updated", room: GROUP.key, seq: 50, at, info: ROOM_INFO };
    const expected = {
      event: "chatRoomUpdated",
      data: {
        uuid: "r_group",
        chat_room_name: "Designers",
        chat_room_description: "Pixels",
        chat_room_show_history: false,
        pinned_message: null,
      },
    };
    expect(received(state, event, ID.group)).toEqual(expected);
    expect(received(state, event, ID.rooms)).toEqual(expected);
    const live: ChatEvent = {
      type: "room_updated",
      room: LIVE.key,
      seq: 5,
      at,
      info: { ...ROOM_INFO, key: LIVE.key, kind: "live" },
    };
    expect((encode(state, live) as { identifier: string }[]).map((f) => f.identifier)).toEqual([ID.live]);
  });

  it("sends chatRoomCreated with the member's listing", () => {
    const listing: RoomListing = {
      room: { ...ROOM_INFO, key: DIRECT.key, number: 43, kind: "direct", name: null, metadata: {} },
      role: "member",
      unread: 2,
      mentions: 0,
      last_message: message({ room: DIRECT.key, seq: 3 }),
      pinned_at: null,
    };
    expect(received(state, { type: "room_added", room: DIRECT.key, listing }, ID.rooms)).toEqual({
      event: "chatRoomCreated",
      data: {
        id: 43,
        uuid: "dm:7:8",
        identifier: "dm:7:8",
        unread_messages_count: 2,
        chat_room_kind: "direct",
        chat_room_name: "",
        chat_room_description: "Pixels",
        chat_room_show_history: true,
        other_participants_preview: [{ community_member_id: 8 }],
        current_participant: { community_member_id: 7, role: "member", pinned_at: null },
        last_message: expectedMessage(message({ room: DIRECT.key, seq: 3 }), listing.room),
      },
    });
  });

  it("sends chatRoomCreated from the room's brief when the host has no listing, never for live rooms", () => {
    expect(received(state, { type: "room_added", room: GROUP.key, listing: null }, ID.rooms).data).toEqual({
      id: 42,
      uuid: "r_group",
      identifier: "r_group",
      unread_messages_count: 0,
      chat_room_kind: "group_chat",
      chat_room_name: "",
      chat_room_description: "",
      chat_room_show_history: true,
      other_participants_preview: [],
      current_participant: { community_member_id: 7, role: null, pinned_at: null },
      last_message: null,
    });
    expect(encode(state, { type: "room_added", room: LIVE.key, listing: null })).toEqual([]);
    expect(encode(state, { type: "room_added", room: "r_unknown", listing: null })).toEqual([]);
  });

  it("sends the member's room list events on ChatRoomChannel", () => {
    const pinnedAt = "2026-03-01T09:00:00.000Z";
    const cases: [ChatEvent, string, unknown][] = [
      [
        { type: "room_deleted", room: GROUP.key, seq: 60, at },
        "chatRoomDeleted",
        { chat_room_uuid: GROUP.key },
      ],
      [
        { type: "room_removed", room: GROUP.key, reason: "removed" },
        "chatRoomDeleted",
        { chat_room_uuid: GROUP.key },
      ],
      [{ type: "room_read", room: GROUP.key, seq: 12 }, "chatRoomRead", { chat_room_uuid: GROUP.key }],
      // A ChatRoomChannel session follows every room, so its member's read comes as the room's own `read`.
      [
        { type: "read", room: GROUP.key, user_id: "7", seq: 12, message_seqs: [11], at },
        "chatRoomRead",
        { chat_room_uuid: GROUP.key },
      ],
      [
        { type: "room_pinned", room: GROUP.key, pinned_at: pinnedAt },
        "chatRoomPinned",
        { chat_room_id: 42, pinned_at: pinnedAt },
      ],
      [{ type: "room_unpinned", room: GROUP.key }, "chatRoomUnPinned", { chat_room_id: 42 }],
    ];
    for (const [event, name, data] of cases) {
      const frames = encode(state, event);
      expect(frames, name).toEqual([{ identifier: ID.rooms, message: { event: name, data } }]);
    }
  });

  it("sends chatThreadRead with the root's number on the threads channel", () => {
    const event: ChatEvent = { type: "thread_read", room: GROUP.key, thread_id: "0195-root", thread_seq: 12 };
    expect(encode(state, event)).toEqual([
      {
        identifier: ID.threads,
        message: { event: "chatThreadRead", data: { chat_thread_id: 42_000_000_012 } },
      },
    ]);
  });

  it("sends notifications, their count and its reset on NotificationChannel", () => {
    const notification: Notification = {
      id: "n-1",
      kind: "mention",
      room: GROUP.key,
      message_id: "0195-msg",
      message_seq: 17,
      thread_id: null,
      actor: BOB,
      text: "@Mia look",
      created_at: NOW,
      read_at: null,
    };
    expect(received(state, { type: "notification", notification }, ID.notifications)).toEqual({
      event: "newNotification",
      data: {
        id: "n-1",
        notification_type: "mention",
        chat_room_uuid: GROUP.key,
        chat_room_id: 42,
        message_id: 42_000_000_017,
        actor: { id: 8, community_member_id: 8, name: "Bob", avatar_url: null },
        text: "@Mia look",
        created_at: NOW,
        read_at: null,
      },
    });
    const added = {
      ...notification,
      kind: "added" as const,
      room: "r_gone",
      message_id: null,
      message_seq: null,
    };
    expect(
      received(state, { type: "notification", notification: added }, ID.notifications).data,
    ).toMatchObject({
      chat_room_id: null,
      message_id: null,
    });
    expect(encode(state, { type: "notification_count", unread: 4 })).toEqual([
      {
        identifier: ID.notifications,
        message: { event: "updateNewNotificationCount", data: { new_notifications_count: 4 } },
      },
    ]);
    expect(encode(state, { type: "notifications_reset", unread: 0 })).toEqual([
      {
        identifier: ID.notifications,
        message: { event: "resetNewNotificationCount", data: { new_notifications_count: 0 } },
      },
    ]);
  });

  it("sends nothing the seed does not define, nor to pending subscriptions, nor for rooms the host cannot describe", () => {
    const quiet: ChatEvent[] = [
      { type: "typing", room: GROUP.key, user: BOB, typing: true, at },
      { type: "read", room: GROUP.key, user_id: "8", seq: 3, message_seqs: [1], at },
      { type: "read", room: LIVE.key, user_id: "7", seq: 3, message_seqs: [1], at },
      { type: "room_read", room: LIVE.key, seq: 3 },
      { type: "presence", user_id: "8", online: true, last_seen: null, at },
      { type: "inbox", room: GROUP.key, unread: 1, mentions: 0, last_message: null, total_unread: 1 },
      { type: "member_left", room: GROUP.key, seq: 70, at, user_id: "8", reason: "left" },
      newMessage(message({ room: "r_unknown" })),
    ];
    for (const event of quiet) expect(encode(state, event), event.type).toEqual([]);
    const pending = decode(fresh(), subscribeFrame(ID.group)).state;
    expect(encode(pending, newMessage(message()))).toEqual([]);
  });

  it("sends one frame per identifier when two subscriptions share a channel", () => {
    const other = JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: 42 });
    const twins = subscribed([ID.group, other]);
    const frames = encode(twins, newMessage(message())) as { identifier: string }[];
    expect(frames.map((f) => f.identifier)).toEqual([ID.group, other]);
  });

  it("sends its own messages back to the sender (creation_uuid reconciles them)", () => {
    expect(encode(state, newMessage(message({ sender: ME })))).toHaveLength(2);
  });
});

describe("actioncable extended protocol", () => {
  const state = subscribed([ID.group, ID.rooms], EXT_CTX);

  it("adds the stream position to room channel broadcasts only", () => {
    const frames = encode(state, newMessage(message()), EXT_CTX) as Record<string, unknown>[];
    expect(frames[0]).toEqual({
      identifier: ID.group,
      message: { event: "newMessage", data: expectedMessage(message(), GROUP) },
      stream_id: GROUP.key,
      epoch: "e-group",
      offset: 17,
    });
    expect(Object.keys(frames[1] ?? {})).toEqual(["identifier", "message"]);
    expect(Object.keys((encode(subscribed([ID.group]), newMessage(message())) as object[])[0] ?? {})).toEqual(
      ["identifier", "message"],
    );
  });

  it("replays history from the client's position: confirm_history once replayed, reject_history on conflict", () => {
    const history = { since: 1_772_000_000, streams: { [GROUP.key]: { offset: 9, epoch: "e-group" } } };
    const decoded = decode(state, { command: "history", identifier: ID.group, history }, EXT_CTX);
    const tagged = only(decoded.commands);
    expect(tagged.command).toEqual({ kind: "subscribe", room: GROUP.key, since: 9, epoch: "e-group" });
    const done = answer(
      state,
      tagged,
      { ok: true, value: { kind: "subscribed", room: GROUP.key, head: 20, epoch: "e-group" } },
      EXT_CTX,
    );
    expect(done.frames.map(json)).toEqual([{ identifier: ID.group, type: "confirm_history" }]);
    expect(done.state).toEqual(state);
    expect(answer(state, tagged, failure("conflict"), EXT_CTX).frames.map(json)).toEqual([
      { identifier: ID.group, type: "reject_history" },
    ]);
  });

  it("rejects history it cannot replay by position", () => {
    const cases: [string, unknown][] = [
      [ID.group, { since: 1_772_000_000 }],
      [ID.group, { streams: { a: { offset: 1, epoch: "x" }, b: { offset: 2, epoch: "y" } } }],
      [ID.group, { streams: { [GROUP.key]: { offset: -1, epoch: "x" } } }],
      [ID.group, "nope"],
      [ID.rooms, { streams: { [GROUP.key]: { offset: 1, epoch: "e-group" } } }],
      [ID.direct, { streams: { [DIRECT.key]: { offset: 1, epoch: "e-direct" } } }],
    ];
    for (const [identifier, history] of cases) {
      const decoded = decode(state, { command: "history", identifier, history }, EXT_CTX);
      expect(decoded.commands, JSON.stringify(history)).toEqual([]);
      expect(decoded.replies.map(json)).toEqual([{ identifier, type: "reject_history" }]);
    }
  });

  it("takes the only position given when the stream's name is not known yet", () => {
    const history = { since: 1, streams: { anything: { offset: 4, epoch: "e-group" } } };
    const decoded = decode(fresh(EXT_CTX), subscribeFrame(ID.groupById, { history }), EXT_CTX);
    expect(decoded.commands.map((c) => c.command)).toEqual([
      { kind: "subscribe", room: { number: 42 }, since: null },
      { kind: "subscribe", room: { number: 42 }, since: 4, epoch: "e-group" },
    ]);
  });

  it("confirms a subscribe with history first, then answers its history", () => {
    const history = { since: 1, streams: { [GROUP.key]: { offset: 4, epoch: "e-group" } } };
    const decoded = decode(fresh(EXT_CTX), subscribeFrame(ID.group, { history }), EXT_CTX);
    const [start, replay] = decoded.commands;
    if (!start || !replay) throw new Error("two commands expected");
    const confirmed = answer(decoded.state, start, started(start.command), EXT_CTX);
    expect(confirmed.frames.map(json)).toEqual([{ identifier: ID.group, type: "confirm_subscription" }]);
    const replayed = answer(confirmed.state, replay, started(replay.command), EXT_CTX);
    expect(replayed.frames.map(json)).toEqual([{ identifier: ID.group, type: "confirm_history" }]);
    const rejected = answer(decoded.state, start, failure("forbidden"), EXT_CTX);
    expect(answer(rejected.state, replay, failure("forbidden"), EXT_CTX).frames).toEqual([]);
  });

  it("ignores the routine `since` of a subscribe, and history on Rails' protocol", () => {
    const routine = decode(
      fresh(EXT_CTX),
      subscribeFrame(ID.group, { history: { since: 1, streams: {} } }),
      EXT_CTX,
    );
    expect(routine.commands.map((c) => c.command)).toEqual([
      { kind: "subscribe", room: GROUP.key, since: null },
    ]);
    const plain = subscribed([ID.group]);
    const history = { streams: { [GROUP.key]: { offset: 4, epoch: "e-group" } } };
    expect(decode(plain, { command: "history", identifier: ID.group, history })).toEqual({
      state: plain,
      commands: [],
      replies: [],
    });
    expect(only(decode(fresh(), subscribeFrame(ID.group, { history })).commands).command).toMatchObject({
      since: null,
    });
  });

  it("answers a presence request with a presence error and ignores pong, whisper, join and leave", () => {
    expect(
      decode(state, { command: "presence", identifier: ID.group, data: {} }, EXT_CTX).replies.map(json),
    ).toEqual([{ type: "presence", identifier: ID.group, message: { type: "error" } }]);
    for (const frame of [
      { command: "pong" },
      { command: "whisper", identifier: ID.group, data: { typing: true } },
      { command: "join", identifier: ID.group, presence: { id: "7" } },
      { command: "leave", identifier: ID.group, presence: { id: "7" } },
    ])
      expect(decode(state, frame, EXT_CTX)).toEqual({ state, commands: [], replies: [] });
  });

  describe("session resumption", () => {
    const resume = codec.resume;
    const NEW_CTX = context({ subprotocol: EXT, sessionId: "sess-2" });

    it("is named by ?sid= and kept for 5 minutes", () => {
      expect(resume?.param).toBe("sid");
      expect(resume?.header).toBe("X-AnyCable-Restore-Sid");
      expect(resume?.keepMs).toBe(300_000);
    });

    it("restores the confirmed subscriptions, re-follows each target once, and welcomes with restored_ids", () => {
      const other = JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: 42 });
      const previous = subscribed([ID.group, other, ID.rooms], EXT_CTX);
      const withPending = decode(previous, subscribeFrame(ID.threads), EXT_CTX).state;
      const restored = resume?.restore(withPending, NEW_CTX);
      if (!restored) throw new Error("not restored");
      expect(restored.commands).toEqual([
        { command: { kind: "subscribe", room: GROUP.key, since: null }, tag: { answer: "restore" } },
        { command: { kind: "follow", scope: "rooms" }, tag: { answer: "restore" } },
      ]);
      const opened = codec.open?.(restored.state, NEW_CTX);
      expect(opened?.frames.map(json)).toEqual([
        { type: "welcome", sid: "sess-2", restored: true, restored_ids: [ID.group, other, ID.rooms] },
      ]);
      expect(opened?.state.restored).toBeNull();
      const state = opened?.state as ActionCableState;
      const [room, rooms] = restored.commands as TaggedCommand<ActionCableTag>[];
      if (!room || !rooms) throw new Error("two commands expected");
      expect(answer(state, rooms, started(rooms.command), NEW_CTX)).toEqual({ state, frames: [] });
      const dropped = answer(state, room, failure("forbidden"), NEW_CTX);
      expect(dropped.frames).toEqual([]);
      expect(dropped.state.subscriptions.map((s) => s.identifier)).toEqual([ID.rooms]);
      expect(encode(state, newMessage(message()), NEW_CTX)).toHaveLength(3);
    });

    it("starts afresh from a Rails session or onto Rails' protocol", () => {
      expect(resume?.restore(subscribed([ID.group]), NEW_CTX)).toBeNull();
      expect(resume?.restore(subscribed([ID.group], EXT_CTX), context())).toBeNull();
    });
  });
});

describe("actioncable bad input", () => {
  const state = subscribed([ID.group]);

  it("answers nothing to frames Rails would only log", () => {
    const frames: (string | ArrayBuffer)[] = [
      "",
      "not json",
      "[]",
      "null",
      '{"command":"subscribe"}',
      '{"command":"subscribe","identifier":""}',
      '{"command":"subscribe","identifier":{"channel":"ChatRoomChannel"}}',
      `{"command":"launch","identifier":${JSON.stringify(ID.group)}}`,
      '{"identifier":"x"}',
      `${"[".repeat(50)}${"]".repeat(50)}`,
      new Uint8Array([0xff, 0xfe, 0x00]).buffer,
    ];
    for (const frame of frames)
      expect(codec.decode(state, frame, context())).toEqual({ state, commands: [], replies: [] });
  });

  it("drops frames larger than the host's limit", () => {
    const big = JSON.stringify(
      performFrame(ID.group, { action: "send_message", body: "x".repeat(200), creation_uuid: "c" }),
    );
    expect(codec.decode(state, big, context({ maxFrameBytes: 100 }))).toEqual({
      state,
      commands: [],
      replies: [],
    });
  });

  it("reads binary frames as UTF-8", () => {
    const frame = new TextEncoder().encode(
      JSON.stringify(performFrame(ID.group, { action: "mark_room_read" })),
    ).buffer as ArrayBuffer;
    expect(only(codec.decode(state, frame, context()).commands).command).toEqual({
      kind: "read",
      room: GROUP.key,
      seq: null,
    });
  });

  it("translates nothing for a session without a user", () => {
    expect(decode(fresh(), subscribeFrame(ID.group), context({ user: null }))).toEqual({
      state: fresh(),
      commands: [],
      replies: [],
    });
    expect(codec.encodeEvent(state, newMessage(message()), context({ user: null }))).toEqual([]);
  });

  it("never throws, and answers at most with frames about the identifier it was given", () => {
    const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
    const frameLike = fc.record({
      command: fc.constantFrom("subscribe", "unsubscribe", "message", "history", "presence", "pong", "x"),
      identifier: fc.oneof(fc.constantFrom(...Object.values(ID)), fc.string(), anyJson),
      data: fc.oneof(anyJson, fc.string(), fc.jsonValue()),
      history: fc.jsonValue({ maxDepth: 3 }),
    });
    const input = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.buffer as ArrayBuffer),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      frameLike.map((f) => JSON.stringify(f)),
    );
    fc.assert(
      fc.property(input, fc.boolean(), (raw, ext) => {
        const ctx = ext ? EXT_CTX : context();
        const start = subscribed([ID.group, ID.threads], ctx);
        const decoded = codec.decode(start, raw, ctx);
        expect(JSON.stringify(decoded.state).length).toBeLessThan(16_384);
        if (decoded.replies.length === 0) return;
        const sent = JSON.parse(raw as string) as { identifier: string };
        for (const reply of decoded.replies)
          expect((json(reply) as { identifier: string }).identifier).toBe(sent.identifier);
      }),
      { numRuns: 500 },
    );
  });

  it("answers every subscribe at once or through exactly one host command, and every refusal by rejecting", () => {
    const params = fc.dictionary(
      fc.constantFrom("channel", "community_member_id", "chat_room_id", "chat_room_uuid", "extra"),
      fc.oneof(
        fc.constantFrom(
          "NotificationChannel",
          "ChatRoomChannel",
          "Chats::RoomChannel",
          "Chats::CommunityMemberThreadsChannel",
        ),
        fc.constantFrom(7, "7", 8, 42, "42", GROUP.key),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    );
    fc.assert(
      fc.property(params, (p) => {
        const identifier = JSON.stringify(p);
        const decoded = decode(fresh(), subscribeFrame(identifier));
        const answered = decoded.replies.map(json);
        if (decoded.commands.length === 0) {
          expect(answered).toEqual([{ identifier, type: "reject_subscription" }]);
          return;
        }
        expect(answered).toEqual([]);
        const tagged = only(decoded.commands);
        const confirmed = answer(decoded.state, tagged, {
          ok: true,
          value:
            tagged.command.kind === "follow"
              ? { kind: "followed", scope: tagged.command.scope }
              : { kind: "subscribed", room: GROUP.key, head: 1, epoch: "e" },
        });
        expect(confirmed.frames.map(json)).toEqual([{ identifier, type: "confirm_subscription" }]);
        expect(decode(confirmed.state, subscribeFrame(identifier))).toEqual({
          state: confirmed.state,
          commands: [],
          replies: [],
        });
      }),
      { numRuns: 300 },
    );
  });

  it("decodes every performed action to one command or one error message on its identifier", () => {
    const action = fc.record(
      {
        action: fc.constantFrom(
          "send_message",
          "edit_message",
          "delete_message",
          "mark_room_read",
          "mark_thread_read",
          "pin_room",
          "unpin_room",
          "mark_notifications_read",
          "other",
        ),
        body: fc.oneof(fc.string(), fc.integer()),
        creation_uuid: fc.oneof(fc.uuid(), fc.string({ maxLength: 200 })),
        id: fc.oneof(fc.constant(messageNumber(42, 12)), fc.integer(), fc.double()),
        parent_message_id: fc.oneof(fc.constant(messageNumber(42, 3)), fc.constant(null), fc.integer()),
        chat_thread_id: fc.oneof(fc.constant(messageNumber(42, 3)), fc.integer()),
        chat_room_id: fc.oneof(fc.constant(42), fc.integer(), fc.string()),
        chat_room_uuid: fc.oneof(fc.constant(GROUP.key), fc.string()),
        rich_text_body: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: ["action"] },
    );
    const state = subscribed([ID.group, ID.rooms, ID.threads, ID.notifications]);
    fc.assert(
      fc.property(
        action,
        fc.constantFrom(ID.group, ID.rooms, ID.threads, ID.notifications),
        (data, identifier) => {
          const decoded = decode(state, performFrame(identifier, data));
          expect(decoded.state).toBe(state);
          expect(decoded.commands.length + decoded.replies.length).toBe(1);
          const [reply] = decoded.replies;
          if (reply !== undefined) {
            expect(json(reply)).toMatchObject({
              identifier,
              message: { event: "error", data: { code: "bad_request" } },
            });
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("keeps its state small and JSON through any sequence of subscribes and unsubscribes", () => {
    const identifier = fc.oneof(
      fc.constantFrom(...Object.values(ID)),
      fc
        .integer({ min: 1, max: 60 })
        .map((n) => JSON.stringify({ channel: "Chats::RoomChannel", chat_room_id: n })),
    );
    const step = fc.tuple(fc.constantFrom("subscribe", "unsubscribe"), identifier, fc.boolean());
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let state = fresh();
        for (const [command, id, accept] of steps) {
          const decoded = decode(state, { command, identifier: id });
          state = decoded.state;
          for (const tagged of decoded.commands) {
            const outcome =
              tagged.command.kind === "subscribe" || tagged.command.kind === "follow"
                ? accept
                  ? started(tagged.command)
                  : failure("forbidden")
                : ok({ ok: true, value: { kind: "unfollowed", scope: "rooms" } });
            state = answer(state, tagged, outcome).state;
          }
        }
        expect(state.subscriptions.length).toBeLessThanOrEqual(16);
        expect(new Set(state.subscriptions.map((s) => s.identifier)).size).toBe(state.subscriptions.length);
        expect(JSON.parse(JSON.stringify(state))).toEqual(state);
        expect(new TextEncoder().encode(JSON.stringify(state)).byteLength).toBeLessThan(8192);
      }),
      { numRuns: 200 },
    );
  });
});
