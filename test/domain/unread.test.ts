import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../../src/domain/events";
import type { Message } from "../../src/domain/model";
import { applyRoomEvents, countsAsUnread, roomUnread, unreadCount } from "../../src/domain/unread";

const ME = "me";

function message(seq: number, fields: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    room: "r",
    seq,
    sender: { id: "other", name: null, avatar: null },
    type: "text",
    text: `text ${seq}`,
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    temp_id: null,
    created_at: "2026-01-01T00:00:00.000Z",
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: seq,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...fields,
  };
}

const posted = (m: Message): RoomEvent => ({
  type: "message",
  room: "r",
  seq: m.seq,
  at: m.created_at,
  message: m,
});
const read = (seq: number, user = ME): RoomEvent => ({
  type: "read",
  room: "r",
  user_id: user,
  seq,
  message_seqs: [],
  at: "2026-01-01T00:00:00.000Z",
});

describe("countsAsUnread", () => {
  it("counts others' visible top-level messages only", () => {
    expect(countsAsUnread(message(1), ME)).toBe(true);
    expect(countsAsUnread(message(1, { sender: { id: ME, name: null, avatar: null } }), ME)).toBe(false);
    expect(countsAsUnread(message(1, { to: "someone" }), ME)).toBe(false);
    expect(countsAsUnread(message(1, { to: ME }), ME)).toBe(true);
    expect(countsAsUnread(message(1, { deleted_at: "2026-01-01T00:00:00.000Z" }), ME)).toBe(false);
    expect(countsAsUnread(message(1, { parent_id: "m0" }), ME)).toBe(false);
  });
});

describe("applyRoomEvents", () => {
  it("counts on from the summary's head, skipping what the summary already held", () => {
    const unread = roomUnread({ through: 3, floor: 1, seqs: [2, 3], older: 0 });
    expect(applyRoomEvents(unread, [posted(message(3)), posted(message(4)), read(1, "someone")], ME)).toBe(
      true,
    );
    expect(unreadCount(unread)).toBe(3);
    expect(unread.last_message?.seq).toBe(4);
    expect(applyRoomEvents(unread, [read(3)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(1);
  });

  it("drops a deleted message, and asks for a rebuild when a read or a deletion reaches counted-only history", () => {
    const unread = roomUnread({ through: 12, floor: 10, seqs: [11, 12], older: 4 });
    const deleted: RoomEvent = {
      type: "message_deleted",
      room: "r",
      seq: 13,
      at: "2026-01-01T00:00:00.000Z",
      message: message(12, { deleted_at: "2026-01-01T00:00:00.000Z", text: "" }),
      parent: null,
    };
    expect(applyRoomEvents(unread, [deleted], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(5);
    expect(applyRoomEvents(unread, [read(12)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(0);
    const partial = roomUnread({ through: 12, floor: 10, seqs: [11, 12], older: 4 });
    expect(applyRoomEvents(partial, [read(5)], ME)).toBe(false);
  });
});
