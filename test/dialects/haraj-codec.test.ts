import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import { type HarajState, harajCodec, MAX_LISTENED_PEERS } from "../../src/dialects/haraj/codec";
import {
  harajRoomKey,
  harajTopicId,
  harajTopicUsers,
  harajUserId,
  parseHarajUserId,
} from "../../src/dialects/haraj/ids";
import { harajError, harajMessageBody, harajMessagePacket } from "../../src/dialects/haraj/packets";
import type { Command, CommandOutcome } from "../../src/domain/commands";
import type { ErrorCode } from "../../src/domain/errors";
import type { ChatEvent } from "../../src/domain/events";
import type { Message, Profile } from "../../src/domain/model";
import { SEED_PACKET, seedMessage } from "../helpers/seed-001";

const NOW = "2018-02-02T08:30:39.789Z";
const USER_1: Profile = { id: "1", name: "saad", avatar: null };
const USER_3: Profile = { id: "3", name: null, avatar: null };

function context(user: Profile | null, maxFrameBytes = 65_536): SessionContext {
  return {
    sessionId: "sess-1",
    user,
    room: null,
    maxFrameBytes,
    now: () => new Date(NOW),
    roomInfo: () => null,
  };
}

const fresh = (): HarajState => harajCodec.initialState(context(null));
const json = (frame: string | undefined): unknown => JSON.parse(frame ?? "null");

function decode(frame: unknown, user: Profile | null = USER_1, state = fresh()) {
  return harajCodec.decode(state, typeof frame === "string" ? frame : JSON.stringify(frame), context(user));
}

/** Decodes one command and answers it with `outcome`, as the host does. */
function roundTrip(frame: unknown, outcome: CommandOutcome, user: Profile | null = USER_1, state = fresh()) {
  const decoded = decode(frame, user, state);
  const [tagged] = decoded.commands;
  if (!tagged) throw new Error(`no command decoded from ${JSON.stringify(frame)}: ${decoded.replies}`);
  const answer = harajCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, context(user));
  return { command: tagged.command, state: answer.state, reply: json(answer.frames[0]), answer };
}

const failure = (code: ErrorCode, retry_after?: number): CommandOutcome => ({
  ok: false,
  error: retry_after === undefined ? { code, message: "secret detail" } : { code, message: "x", retry_after },
});

const message = (over: Partial<Message> = {}): Message =>
  seedMessage({ id: "0190-m", temp_id: "t-1", ...over });

const messageEvent = (m: Message): ChatEvent => ({
  type: "message",
  room: m.room,
  seq: m.seq,
  at: m.created_at,
  message: m,
});

function encode(event: ChatEvent, user: Profile | null = USER_1, state = fresh()): unknown[] {
  return harajCodec.encodeEvent(state, event, context(user)).map(json);
}

const BAD_REQUEST = { status: 400, err: "ERR_BAD_REQUEST", ts: NOW };

describe("haraj ids", () => {
  it("renders all-digit user ids as numbers and anything else as strings", () => {
    expect(harajUserId("1")).toBe(1);
    expect(harajUserId("0")).toBe(0);
    expect(harajUserId("9007199254740991")).toBe(9007199254740991);
    expect(harajUserId("9007199254740992")).toBe("9007199254740992");
    expect(harajUserId("007")).toBe("007");
    expect(harajUserId("alice")).toBe("alice");
  });

  it("reads a client's user id from a number or a numeric string", () => {
    expect(parseHarajUserId(2)).toBe("2");
    expect(parseHarajUserId("2")).toBe("2");
    expect(parseHarajUserId("007")).toBe("007");
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 60, "", "abc", "1a", " 2", null, true, {}, [2]]) {
      expect(parseHarajUserId(bad)).toBeNull();
    }
  });

  it("maps direct rooms and topic ids both ways, in numeric order", () => {
    expect(harajTopicId("dm:1:2")).toBe("p2p1_2");
    expect(harajTopicId("dm:2:10")).toBe("p2p2_10");
    expect(harajRoomKey("p2p1_2")).toBe("dm:1:2");
    expect(harajRoomKey("p2p2_10")).toBe("dm:2:10");
    expect(harajTopicUsers("p2p2_10")).toEqual(["2", "10"]);
    for (const key of ["dm:1:2", "dm:2:10", "dm:5:5", "dm:12345678901234567890:99999999999999999999"]) {
      const topic = harajTopicId(key);
      expect(topic && harajRoomKey(topic)).toBe(key);
    }
  });

  it("names no topic for group rooms or non-numeric users, and reads no room from a malformed topic", () => {
    expect(harajTopicId("r_0190abc")).toBeNull();
    expect(harajTopicId("dm:alice:bob")).toBeNull();
    expect(harajTopicId("dm:1:bob")).toBeNull();
    for (const bad of ["p2p10_2", "p2p1-2", "p2p_2", "p2p1_", "P2P1_2", "p2p1_2x", " p2p1_2", "dm:1:2", ""]) {
      expect(harajRoomKey(bad)).toBeNull();
    }
  });
});

describe("haraj auth", () => {
  const authFrame = { auth: { id: "authenticate socket", access_token: "jwt-abc" } };

  it("decodes auth into the canonical auth command tagged with the request id", () => {
    const decoded = decode(authFrame, null);
    expect(decoded.replies).toEqual([]);
    expect(decoded.commands).toEqual([
      { command: { kind: "auth", token: "jwt-abc" }, tag: { id: "authenticate socket" } },
    ]);
  });

  it("answers a successful auth as the seed does, the numeric user id as a number", () => {
    const { reply, answer } = roundTrip(
      authFrame,
      { ok: true, value: { kind: "auth", user: USER_1, expires_at: null } },
      null,
    );
    expect(reply).toEqual({ id: "authenticate socket", status: 200, data: { user_id: 1 }, ts: NOW });
    expect(answer.close).toBeUndefined();
  });

  it("renders a non-numeric user id as a string", () => {
    const alice: Profile = { id: "alice", name: null, avatar: null };
    const { reply } = roundTrip(
      authFrame,
      { ok: true, value: { kind: "auth", user: alice, expires_at: null } },
      null,
    );
    expect(reply).toEqual({ id: "authenticate socket", status: 200, data: { user_id: "alice" }, ts: NOW });
  });

  it.each(["invalid_token", "token_expired", "unauthorized"] as const)(
    "answers %s with 401 and keeps the socket",
    (code) => {
      const { reply, answer } = roundTrip(authFrame, failure(code), null);
      expect(reply).toEqual({
        id: "authenticate socket",
        status: 401,
        err: "ERR_INVALID_ACCESS_TOKEN",
        ts: NOW,
      });
      expect(answer.close).toBeUndefined();
    },
  );

  it("refuses an empty or non-string access token", () => {
    for (const access_token of ["", 42, null]) {
      const decoded = decode({ auth: { id: "a", access_token } }, null);
      expect(decoded.commands).toEqual([]);
      expect(decoded.replies.map(json)).toEqual([{ id: "a", ...BAD_REQUEST }]);
    }
  });
});

describe("haraj before auth", () => {
  it("streams nothing while the session has no user", () => {
    const state = roundTrip(
      { listen: { id: "l", peer_id: 2 } },
      {
        ok: true,
        value: { kind: "watching", user: "2", online: true, last_seen: null },
      },
    ).state;
    const events: ChatEvent[] = [
      messageEvent(message()),
      { type: "read", room: "dm:1:2", user_id: "2", seq: 9, message_seqs: [9], at: NOW },
      { type: "typing", room: "dm:1:2", user: { id: "2", name: null, avatar: null }, typing: true, at: NOW },
      { type: "presence", user_id: "2", online: true, last_seen: null, at: NOW },
    ];
    for (const event of events) expect(encode(event, null, state)).toEqual([]);
  });

  it("answers every other command with 401 and runs nothing", () => {
    const frames = [
      { listen: { id: "l", peer_id: 2 } },
      { unlisten: { id: "u", peer_id: 2 } },
      { send: { id: "s", topic_id: "p2p1_2", text: "hi" } },
      { read: { id: "r", topic_id: "p2p1_2", seq_id: 3 } },
      { typing: { id: "t", topic_id: "p2p1_2" } },
      { stop_typing: { id: "st", topic_id: "p2p1_2" } },
    ];
    for (const frame of frames) {
      const decoded = decode(frame, null);
      const id = Object.values(frame)[0]?.id;
      expect(decoded.commands).toEqual([]);
      expect(decoded.close).toBeUndefined();
      expect(decoded.replies.map(json)).toEqual([
        { id, status: 401, err: "ERR_INVALID_ACCESS_TOKEN", ts: NOW },
      ]);
    }
  });

  it("answers with 401 a late outcome for a session that lost its user", () => {
    const command: Command = { kind: "watch", user: "2" };
    const outcome: CommandOutcome = {
      ok: true,
      value: { kind: "watching", user: "2", online: true, last_seen: null },
    };
    const answer = harajCodec.encodeOutcome(fresh(), { id: "l" }, command, outcome, context(null));
    expect(answer.frames.map(json)).toEqual([
      { id: "l", status: 401, err: "ERR_INVALID_ACCESS_TOKEN", ts: NOW },
    ]);
  });
});

describe("haraj listen and unlisten", () => {
  const watching = (user: string, online: boolean): CommandOutcome => ({
    ok: true,
    value: { kind: "watching", user, online, last_seen: null },
  });

  it("decodes a numeric or numeric-string peer id into watch and unwatch", () => {
    expect(decode({ listen: { id: "listen peer 2", peer_id: 2 } }).commands).toEqual([
      { command: { kind: "watch", user: "2" }, tag: { id: "listen peer 2" } },
    ]);
    expect(decode({ listen: { id: "x", peer_id: "2" } }).commands[0]?.command).toEqual({
      kind: "watch",
      user: "2",
    });
    expect(decode({ unlisten: { id: "u", peer_id: "2" } }).commands).toEqual([
      { command: { kind: "unwatch", user: "2" }, tag: { id: "u" } },
    ]);
  });

  it("answers listen and unlisten as the seed does", () => {
    const listen = roundTrip({ listen: { id: "listen peer 2", peer_id: 2 } }, watching("2", true));
    expect(listen.reply).toEqual({
      id: "listen peer 2",
      status: 200,
      data: { user_id: 1, peer_id: 2, is_online: true },
      ts: NOW,
    });
    const unlisten = roundTrip(
      { unlisten: { id: "unlisten peer 2", peer_id: 2 } },
      { ok: true, value: { kind: "unwatched", user: "2" } },
    );
    expect(unlisten.reply).toEqual({
      id: "unlisten peer 2",
      status: 200,
      data: { user_id: 1, peer_id: 2 },
      ts: NOW,
    });
  });

  it.each(["forbidden", "not_found"] as const)("answers a %s listen or unlisten with 403", (code) => {
    for (const [name, id] of [
      ["listen", "listen peer 2"],
      ["unlisten", "unlisten peer 2"],
    ] as const) {
      const { reply, state } = roundTrip({ [name]: { id, peer_id: 2 } }, failure(code));
      expect(reply).toEqual({ id, status: 403, err: "ERR_FORBIDDEN_ACCESS", ts: NOW });
      expect(state.listening).toEqual([]);
    }
  });

  it("streams a peer's presence only between listen and unlisten", () => {
    const online: ChatEvent = { type: "presence", user_id: "2", online: true, last_seen: null, at: NOW };
    expect(encode(online)).toEqual([]);
    const listening = roundTrip({ listen: { id: "l", peer_id: 2 } }, watching("2", false)).state;
    expect(listening.listening).toEqual(["2"]);
    expect(encode(online, USER_1, listening)).toHaveLength(1);
    expect(encode({ ...online, user_id: "5" }, USER_1, listening)).toEqual([]);
    const again = roundTrip(
      { listen: { id: "l", peer_id: "2" } },
      watching("2", true),
      USER_1,
      listening,
    ).state;
    expect(again.listening).toEqual(["2"]);
    const stopped = roundTrip(
      { unlisten: { id: "u", peer_id: 2 } },
      { ok: true, value: { kind: "unwatched", user: "2" } },
      USER_1,
      listening,
    ).state;
    expect(stopped.listening).toEqual([]);
    expect(encode(online, USER_1, stopped)).toEqual([]);
  });

  it(`refuses a new peer beyond ${MAX_LISTENED_PEERS} with 400 but still answers a listened one`, () => {
    const full: HarajState = {
      ...fresh(),
      listening: Array.from({ length: MAX_LISTENED_PEERS }, (_, i) => `${i + 10}`),
    };
    const refused = decode({ listen: { id: "too many", peer_id: 999 } }, USER_1, full);
    expect(refused.commands).toEqual([]);
    expect(refused.replies.map(json)).toEqual([{ id: "too many", ...BAD_REQUEST }]);
    expect(decode({ listen: { id: "known", peer_id: 10 } }, USER_1, full).commands).toHaveLength(1);
    expect(decode({ unlisten: { id: "u", peer_id: 999 } }, USER_1, full).commands).toHaveLength(1);
  });

  it("refuses peer ids that are not numbers or numeric strings", () => {
    for (const peer_id of [-1, 1.5, "abc", "", true, null, [2], { id: 2 }]) {
      for (const name of ["listen", "unlisten"]) {
        const decoded = decode({ [name]: { id: "p", peer_id } });
        expect(decoded.commands).toEqual([]);
        expect(decoded.replies.map(json)).toEqual([{ id: "p", ...BAD_REQUEST }]);
      }
    }
  });
});

describe("haraj server packets", () => {
  const user2: Profile = { id: "2", name: "abdullah_zagat", avatar: null };

  it("renders a message packet field for field as the seed", () => {
    expect(encode(messageEvent(message()))).toEqual([{ message: SEED_PACKET }]);
  });

  it("names the sender by id when it has no name", () => {
    const [packet] = encode(messageEvent(message({ sender: { id: "2", name: null, avatar: null } })));
    expect(packet).toMatchObject({ message: { from_id: 2, name: "2" } });
  });

  it("marks the recipient's read status from its read marker when the caller knows it", () => {
    const m = message({ room: "dm:2:10", seq: 7, sender: { id: "10", name: "x", avatar: null } });
    expect(harajMessageBody(m)?.status).toEqual({ "2": false });
    expect(harajMessageBody(m, 6)?.status).toEqual({ "2": false });
    expect(harajMessageBody(m, 7)?.status).toEqual({ "2": true });
    expect(harajMessagePacket(m, 8)).toMatchObject({
      message: { topic_id: "p2p2_10", from_id: 10, status: { "2": true } },
    });
  });

  it("does not echo the user's own message", () => {
    expect(encode(messageEvent(message()), user2)).toEqual([]);
  });

  it("renders no message outside the user's numeric direct rooms, and no command message", () => {
    expect(encode(messageEvent(message({ room: "r_0190group" })))).toEqual([]);
    expect(encode(messageEvent(message({ room: "dm:2:4" })))).toEqual([]);
    expect(encode(messageEvent(message({ type: "command" })))).toEqual([]);
    const alice: Profile = { id: "alice", name: null, avatar: null };
    expect(encode(messageEvent(message({ room: "dm:2:alice" })), alice)).toEqual([]);
    expect(harajMessageBody(message({ sender: { id: "9", name: null, avatar: null } }))).toBeNull();
  });

  it("renders a reads packet from a read event as the seed", () => {
    const read: ChatEvent = {
      type: "read",
      room: "dm:1:2",
      user_id: "2",
      seq: 1519011921893,
      message_seqs: [1519011921221, 1519011921893],
      at: "2018-10-08T08:30:39.657Z",
    };
    expect(encode(read)).toEqual([
      {
        reads: {
          from_id: 2,
          topic_id: "p2p1_2",
          seq_ids: [1519011921221, 1519011921893],
          ts: "2018-10-08T08:30:39.657Z",
        },
      },
    ]);
    expect(encode(read, user2)).toEqual([]);
    expect(encode({ ...read, message_seqs: [] })).toEqual([]);
    expect(encode({ ...read, room: "r_0190group" })).toEqual([]);
    expect(encode(read, USER_3)).toEqual([]);
  });

  it("renders typing and stop typing presence per topic as the seed", () => {
    const typing: ChatEvent = {
      type: "typing",
      room: "dm:1:2",
      user: user2,
      typing: true,
      at: "2018-10-08T08:30:39.657Z",
    };
    expect(encode(typing)).toEqual([
      { pres: { what: "typing", from_id: 2, topic_id: "p2p1_2", ts: "2018-10-08T08:30:39.657Z" } },
    ]);
    expect(encode({ ...typing, typing: false })).toEqual([
      { pres: { from_id: 2, what: "stop_typing", topic_id: "p2p1_2", ts: "2018-10-08T08:30:39.657Z" } },
    ]);
    expect(encode(typing, user2)).toEqual([]);
    expect(encode({ ...typing, room: "r_0190group" })).toEqual([]);
    expect(encode(typing, USER_3)).toEqual([]);
  });

  it("renders online and offline presence as the seed", () => {
    const state: HarajState = { ...fresh(), listening: ["2"] };
    const online: ChatEvent = {
      type: "presence",
      user_id: "2",
      online: true,
      last_seen: null,
      at: "2018-10-08T08:30:39Z",
    };
    expect(encode(online, USER_1, state)).toEqual([
      { pres: { what: "online", from_id: 2, ts: "2018-10-08T08:30:39Z" } },
    ]);
    const offline: ChatEvent = {
      type: "presence",
      user_id: "2",
      online: false,
      last_seen: "2018-10-08T08:30:39.657Z",
      at: "2018-10-08T08:30:39.657Z",
    };
    expect(encode(offline, USER_1, state)).toEqual([
      { pres: { what: "offline", from_id: 2, ts: "2018-10-08T08:30:39.657Z" } },
    ]);
  });

  it("renders nothing for events Haraj has no packet for", () => {
    const events: ChatEvent[] = [
      { type: "inbox", room: "dm:1:2", unread: 3, mentions: 0, last_message: message(), total_unread: 3 },
      {
        type: "member_left",
        room: "dm:1:2",
        seq: 4,
        at: "2026-01-01T00:00:00Z",
        user_id: "2",
        reason: "left",
      },
      { type: "room_deleted", room: "dm:1:2", seq: 5, at: "2026-01-01T00:00:00Z" },
      {
        type: "occupancy",
        room: "dm:1:2",
        what: "join",
        user: user2,
        participant_count: 2,
        total_user_count: 2,
        at: NOW,
      },
    ];
    for (const event of events) expect(encode(event)).toEqual([]);
  });
});

describe("haraj send, read and typing", () => {
  const ack = (temp_id: string): CommandOutcome => ({
    ok: true,
    value: {
      kind: "sent",
      room: "dm:1:2",
      ack: {
        temp_id,
        id: "0190-m",
        seq: 41,
        created_at: "2018-10-08T08:30:39.657Z",
        epoch: "e1",
        duplicate: false,
      },
      message: message({ seq: 41 }),
    },
  });

  it("sends to the peer of the topic with the client's temp id and echoes it", () => {
    const { command, reply, state } = roundTrip(
      { send: { id: "send 1", topic_id: "p2p1_2", text: "hello!", temp_id: "tmp-9" } },
      ack("tmp-9"),
    );
    expect(command).toEqual({ kind: "send_direct", to: "2", draft: { temp_id: "tmp-9", text: "hello!" } });
    expect(state.sends).toBe(0);
    expect(reply).toEqual({
      id: "send 1",
      status: 200,
      data: { topic_id: "p2p1_2", seq_id: 41, temp_id: "tmp-9", ts: "2018-10-08T08:30:39.657Z" },
      ts: NOW,
    });
  });

  it("derives a distinct temp id per send from the session when the client gives none", () => {
    const first = decode({ send: { id: "same", topic_id: "p2p1_2", text: "a" } });
    const second = decode({ send: { id: "same", topic_id: "p2p1_2", text: "b" } }, USER_1, first.state);
    expect(first.commands[0]?.command).toMatchObject({ draft: { temp_id: "sess-1:0" } });
    expect(second.commands[0]?.command).toMatchObject({ draft: { temp_id: "sess-1:1" } });
    const { reply } = roundTrip({ send: { id: "s", topic_id: "p2p1_2", text: "a" } }, ack("sess-1:0"));
    expect(reply).toEqual({
      id: "s",
      status: 200,
      data: { topic_id: "p2p1_2", seq_id: 41, ts: "2018-10-08T08:30:39.657Z" },
      ts: NOW,
    });
  });

  it("marks a topic read up to a seq id", () => {
    const { command, reply } = roundTrip(
      { read: { id: "read 1", topic_id: "p2p1_2", seq_id: 41 } },
      { ok: true, value: { kind: "read", room: "dm:1:2", seq: 41 } },
    );
    expect(command).toEqual({ kind: "read", room: "dm:1:2", seq: 41 });
    expect(reply).toEqual({ id: "read 1", status: 200, data: { topic_id: "p2p1_2", seq_id: 41 }, ts: NOW });
  });

  it("starts and stops typing in a topic", () => {
    const done: CommandOutcome = { ok: true, value: { kind: "typing" } };
    const typing = roundTrip({ typing: { id: "t", topic_id: "p2p1_2" } }, done);
    expect(typing.command).toEqual({ kind: "typing", room: "dm:1:2", typing: true });
    expect(typing.reply).toEqual({ id: "t", status: 200, data: { topic_id: "p2p1_2" }, ts: NOW });
    const stop = roundTrip({ stop_typing: { id: "st", topic_id: "p2p1_2" } }, done);
    expect(stop.command).toEqual({ kind: "typing", room: "dm:1:2", typing: false });
    expect(stop.reply).toEqual({ id: "st", status: 200, data: { topic_id: "p2p1_2" }, ts: NOW });
  });

  it("refuses a topic the user is not in with 403 without reaching the host", () => {
    const frames = [
      { send: { id: "x", topic_id: "p2p1_2", text: "hi" } },
      { read: { id: "x", topic_id: "p2p1_2", seq_id: 1 } },
      { typing: { id: "x", topic_id: "p2p1_2" } },
      { stop_typing: { id: "x", topic_id: "p2p1_2" } },
    ];
    for (const frame of frames) {
      const decoded = decode(frame, USER_3);
      expect(decoded.commands).toEqual([]);
      expect(decoded.replies.map(json)).toEqual([
        { id: "x", status: 403, err: "ERR_FORBIDDEN_ACCESS", ts: NOW },
      ]);
    }
  });

  it("refuses a malformed or non-canonical topic id with 400", () => {
    for (const topic_id of ["p2p2_1", "dm:1:2", "p2p1_a", "", 12]) {
      for (const frame of [
        { send: { id: "x", topic_id, text: "hi" } },
        { read: { id: "x", topic_id, seq_id: 1 } },
        { typing: { id: "x", topic_id } },
      ]) {
        const decoded = decode(frame);
        expect(decoded.commands).toEqual([]);
        expect(decoded.replies.map(json)).toEqual([{ id: "x", ...BAD_REQUEST }]);
      }
    }
  });

  it("refuses wrongly typed send and read fields with 400", () => {
    const frames = [
      { send: { id: "x", topic_id: "p2p1_2" } },
      { send: { id: "x", topic_id: "p2p1_2", text: 5 } },
      { send: { id: "x", topic_id: "p2p1_2", text: "hi", temp_id: "" } },
      { send: { id: "x", topic_id: "p2p1_2", text: "hi", temp_id: 7 } },
      { read: { id: "x", topic_id: "p2p1_2" } },
      { read: { id: "x", topic_id: "p2p1_2", seq_id: "41" } },
      { read: { id: "x", topic_id: "p2p1_2", seq_id: -1 } },
      { read: { id: "x", topic_id: "p2p1_2", seq_id: 1.5 } },
      { typing: { id: "x" } },
    ];
    for (const frame of frames) {
      const decoded = decode(frame);
      expect(decoded.commands).toEqual([]);
      expect(decoded.replies.map(json)).toEqual([{ id: "x", ...BAD_REQUEST }]);
    }
  });
});

describe("haraj errors from the host", () => {
  it.each([
    ["bad_request", 400, "ERR_BAD_REQUEST"],
    ["payload_too_large", 400, "ERR_BAD_REQUEST"],
    ["unauthorized", 401, "ERR_INVALID_ACCESS_TOKEN"],
    ["invalid_token", 401, "ERR_INVALID_ACCESS_TOKEN"],
    ["token_expired", 401, "ERR_INVALID_ACCESS_TOKEN"],
    ["forbidden", 403, "ERR_FORBIDDEN_ACCESS"],
    ["not_found", 403, "ERR_FORBIDDEN_ACCESS"],
    ["conflict", 500, "ERR_SERVER_INTERNAL_ERROR"],
    ["internal", 500, "ERR_SERVER_INTERNAL_ERROR"],
  ] as const)("answers %s with %i %s and no internal detail", (code, status, err) => {
    const { reply } = roundTrip({ send: { id: "s", topic_id: "p2p1_2", text: "hi" } }, failure(code));
    expect(reply).toEqual({ id: "s", status, err, ts: NOW });
  });

  it("answers rate_limited with 429 and the seconds to wait", () => {
    const { reply } = roundTrip(
      { send: { id: "s", topic_id: "p2p1_2", text: "hi" } },
      failure("rate_limited", 3),
    );
    expect(reply).toEqual({ id: "s", status: 429, err: "ERR_TOO_MANY_REQUESTS", retry_after: 3, ts: NOW });
    expect(harajError({ code: "rate_limited", message: "x" })).toEqual({
      status: 429,
      err: "ERR_TOO_MANY_REQUESTS",
      retry_after: 1,
    });
  });
});

describe("haraj malformed frames", () => {
  const refusedWith = (frame: string | ArrayBuffer, id?: string, maxFrameBytes?: number) => {
    const decoded = harajCodec.decode(fresh(), frame, context(USER_1, maxFrameBytes));
    expect(decoded.commands).toEqual([]);
    expect(decoded.close).toBeUndefined();
    expect(decoded.replies.map(json)).toEqual([id === undefined ? BAD_REQUEST : { id, ...BAD_REQUEST }]);
  };

  it("answers 400 without an id when none is readable", () => {
    for (const frame of [
      "not json",
      "{",
      "",
      "null",
      "42",
      '"auth"',
      "[]",
      '[{"auth":{"id":"a","access_token":"t"}}]',
      "{}",
      '{"auth":{"id":"a","access_token":"t"},"listen":{"id":"b","peer_id":2}}',
      '{"listen":{"peer_id":2}}',
      '{"listen":{"id":7,"peer_id":2}}',
      '{"listen":{"id":"","peer_id":2}}',
      `{"listen":{"id":"${"x".repeat(257)}","peer_id":2}}`,
      '{"listen":"listen peer 2"}',
      '{"listen":["listen peer 2"]}',
    ]) {
      refusedWith(frame);
    }
  });

  it("answers 400 with the id of an unknown command", () => {
    refusedWith('{"subscribe":{"id":"sub 1","topic_id":"p2p1_2"}}', "sub 1");
    refusedWith('{"toString":{"id":"proto"}}', "proto");
    refusedWith('{"__proto__":{"id":"proto"}}', "proto");
  });

  it("keeps the session usable after a 400", () => {
    const state = fresh();
    const refused = harajCodec.decode(state, "oops", context(USER_1));
    const next = harajCodec.decode(refused.state, '{"listen":{"id":"l","peer_id":2}}', context(USER_1));
    expect(next.commands).toHaveLength(1);
  });

  it("refuses a frame larger than the limit, counting UTF-8 bytes", () => {
    const frame = JSON.stringify({ listen: { id: "ééééé", peer_id: 2 } });
    const bytes = new TextEncoder().encode(frame).byteLength;
    refusedWith(frame, undefined, bytes - 1);
    expect(harajCodec.decode(fresh(), frame, context(USER_1, bytes)).commands).toHaveLength(1);
    refusedWith(new TextEncoder().encode(frame).buffer as ArrayBuffer, undefined, bytes - 1);
  });

  it("decodes binary frames as UTF-8 and refuses invalid UTF-8", () => {
    const frame = new TextEncoder().encode('{"listen":{"id":"تجربة","peer_id":2}}').buffer as ArrayBuffer;
    expect(harajCodec.decode(fresh(), frame, context(USER_1)).commands).toEqual([
      { command: { kind: "watch", user: "2" }, tag: { id: "تجربة" } },
    ]);
    refusedWith(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]).buffer as ArrayBuffer);
  });
});

describe("haraj framing", () => {
  it("sends one packet per WebSocket message and has no keepalive deadline", () => {
    expect(harajCodec.batch(['{"a":1}', '{"b":2}'])).toEqual(['{"a":1}', '{"b":2}']);
    expect(harajCodec.idleLimitMs(fresh())).toBeNull();
  });
});
