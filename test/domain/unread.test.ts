import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../../src/domain/events";
import type { Message } from "../../src/domain/model";
import {
  applyRoomEvents,
  mentionsCount,
  roomUnread,
  type UnreadSummary,
  unreadCount,
} from "../../src/domain/unread";

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

const summary = (fields: Partial<UnreadSummary>): UnreadSummary => ({
  through: 0,
  floor: 1,
  seqs: [],
  mention_seqs: [],
  older: 0,
  older_mentions: 0,
  ...fields,
});

const deletion = (m: Message, seq: number): RoomEvent => ({
  type: "message_deleted",
  room: "r",
  seq,
  at: "2026-01-01T00:00:00.000Z",
  message: { ...m, deleted_at: "2026-01-01T00:00:00.000Z", text: "", mentions: [] },
  parent: null,
});

describe("applyRoomEvents", () => {
  it("counts on from the summary's head, skipping what the summary already held", () => {
    const unread = roomUnread(summary({ through: 3, floor: 1, seqs: [2, 3] }));
    expect(applyRoomEvents(unread, [posted(message(3)), posted(message(4)), read(1, "someone")], ME)).toBe(
      true,
    );
    expect(unreadCount(unread)).toBe(3);
    expect(unread.last_message?.seq).toBe(4);
    expect(applyRoomEvents(unread, [read(3)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(1);
  });

  it("skips own messages, whispers to others and thread replies, and keeps own messages as the last", () => {
    const unread = roomUnread(summary({}));
    const mine = message(2, { sender: { id: ME, name: null, avatar: null } });
    applyRoomEvents(
      unread,
      [posted(message(1, { to: "someone" })), posted(message(3, { parent_id: "m1" })), posted(mine)],
      ME,
    );
    expect(unreadCount(unread)).toBe(0);
    expect(unread.last_message?.id).toBe("m3");
  });

  it("counts mentions among the unread, and a read clears them", () => {
    const unread = roomUnread(summary({ through: 2, seqs: [1, 2], mention_seqs: [2] }));
    applyRoomEvents(
      unread,
      [
        posted(message(3, { mentions: [ME] })),
        posted(message(4, { mentions_room: true })),
        posted(message(5)),
      ],
      ME,
    );
    expect(mentionsCount(unread)).toBe(3);
    applyRoomEvents(unread, [read(3)], ME);
    expect(mentionsCount(unread)).toBe(1);
    expect(unreadCount(unread)).toBe(2);
  });

  it("uncounts a deleted message and shows its tombstone when it was the last", () => {
    const unread = roomUnread(summary({}));
    const last = message(2, { mentions: [ME] });
    applyRoomEvents(unread, [posted(message(1)), posted(last)], ME);
    expect(applyRoomEvents(unread, [deletion(last, 3)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(1);
    expect(mentionsCount(unread)).toBe(0);
    expect(unread.last_message).toMatchObject({ id: "m2", text: "", deleted_at: "2026-01-01T00:00:00.000Z" });
    applyRoomEvents(unread, [deletion(message(1), 4)], ME);
    expect(unread.last_message?.id).toBe("m2");
  });

  it("asks for a rebuild when a read or a deletion reaches counted-only history", () => {
    const unread = roomUnread(
      summary({ through: 12, floor: 10, seqs: [11, 12], older: 4, older_mentions: 1 }),
    );
    expect(applyRoomEvents(unread, [deletion(message(12), 13)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(5);
    expect(applyRoomEvents(unread, [read(12)], ME)).toBe(true);
    expect(unreadCount(unread)).toBe(0);
    expect(mentionsCount(unread)).toBe(0);
    const partial = roomUnread(summary({ through: 12, floor: 10, seqs: [11, 12], older: 4 }));
    expect(applyRoomEvents(partial, [read(5)], ME)).toBe(false);
    const gone = roomUnread(summary({ through: 12, floor: 10, seqs: [11, 12], older: 4 }));
    expect(applyRoomEvents(gone, [deletion(message(3), 13)], ME)).toBe(false);
  });
});
