import { describe, expect, it } from "vitest";
import {
  type ChangedMessage,
  compareRoomListings,
  countsAsUnread,
  inboxAfterDeletion,
  MAX_PINNED_MESSAGES,
  planPin,
  replayEvents,
  targetOf,
} from "../../src/domain/lifecycle";
import { admin, member, message, owner, room, T0, user } from "./fixtures";

const at = (ms: number) => new Date(T0 + ms).toISOString();

describe("targets", () => {
  it("hides whispers between others exactly like missing messages", () => {
    const whisper = message({ sender: user("bob"), to: "cy" });
    expect(targetOf(whisper, "dee")).toEqual(targetOf(null, "dee"));
    expect(targetOf(whisper, "cy").ok).toBe(true);
    expect(targetOf(whisper, "bob").ok).toBe(true);
  });
});

describe("room pins", () => {
  const m = message();

  it("moderators pin and unpin; pinning twice is an ok no-op", () => {
    const pinned = planPin(m, room(), admin, "bob", true, 0, T0);
    expect(pinned).toEqual({ ok: true, value: { changed: true, message: { ...m, pinned_at: at(0) } } });
    const again = { ...m, pinned_at: at(0) };
    expect(planPin(again, room(), owner, "bob", true, 1, T0)).toEqual({
      ok: true,
      value: { changed: false, message: again },
    });
    expect(planPin(again, room(), owner, "bob", false, 1, T0)).toMatchObject({
      value: { changed: true, message: { pinned_at: null } },
    });
    expect(planPin(m, room(), owner, "bob", false, 0, T0)).toMatchObject({ value: { changed: false } });
  });

  it("refuses members of group rooms, deleted messages, whispers and a full pin board", () => {
    expect(planPin(m, room(), member, "bob", true, 0, T0)).toMatchObject({ error: { code: "forbidden" } });
    expect(planPin(m, room({ kind: "direct" }), member, "bob", true, 0, T0).ok).toBe(true);
    const tombstone = message({ deleted_at: at(0) });
    expect(planPin(tombstone, room(), owner, "bob", true, 0, T0)).toMatchObject({
      error: { code: "not_found" },
    });
    const whisper = message({ to: "bob" });
    expect(planPin(whisper, room(), owner, "bob", true, 0, T0)).toMatchObject({
      error: { code: "bad_request" },
    });
    expect(planPin(m, room(), owner, "bob", true, MAX_PINNED_MESSAGES, T0)).toMatchObject({
      error: { code: "conflict" },
    });
  });
});

describe("room list order", () => {
  it("puts pinned rooms first, newest pin first, then the most recently active, then the newest room", () => {
    const rooms = [
      { name: "quiet", pinned_at: null, active_at: at(1), number: 1 },
      { name: "old-pin", pinned_at: at(5), active_at: at(0), number: 2 },
      { name: "busy", pinned_at: null, active_at: at(9), number: 3 },
      { name: "new-pin", pinned_at: at(7), active_at: at(0), number: 4 },
      { name: "quiet-newer", pinned_at: null, active_at: at(1), number: 5 },
    ];
    expect(rooms.sort(compareRoomListings).map((r) => r.name)).toEqual([
      "new-pin",
      "old-pin",
      "busy",
      "quiet-newer",
      "quiet",
    ]);
  });
});

describe("unread and inbox", () => {
  it("counts others' visible, standing, top-level messages", () => {
    expect(countsAsUnread(message(), "bob")).toBe(true);
    expect(countsAsUnread(message(), "ann")).toBe(false);
    expect(countsAsUnread(message({ to: "cy" }), "bob")).toBe(false);
    expect(countsAsUnread(message({ to: "bob" }), "bob")).toBe(true);
    expect(countsAsUnread(message({ deleted_at: at(0) }), "bob")).toBe(false);
    expect(countsAsUnread(message({ parent_id: "m0" }), "bob")).toBe(false);
  });

  it("a deletion drops its unread entry and replaces the last message only when it was that one", () => {
    const last = message({ seq: 9, id: "m9" });
    const tombstone = { ...last, text: "", deleted_at: at(1) };
    expect(inboxAfterDeletion(last, tombstone)).toEqual({ unread_seq: 9, last_message: tombstone });
    const older = { ...message({ seq: 4, id: "m4" }), deleted_at: at(1) };
    expect(inboxAfterDeletion(last, older)).toEqual({ unread_seq: 4, last_message: last });
    expect(inboxAfterDeletion(null, older)).toEqual({ unread_seq: 4, last_message: null });
  });
});

describe("replaying from D1 rows", () => {
  const row = (overrides: Parameters<typeof message>[0], change: ChangedMessage["change"], ms = 0) => ({
    message: message(overrides),
    change,
    at: at(ms),
  });

  it("sends messages the client never saw whole, at their own seq, in their current state", () => {
    const events = replayEvents(
      "general",
      [row({ seq: 12, changed_seq: 15, version: 2 }, "edit"), row({ seq: 11 }, "post")],
      10,
    );
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ["message", 11],
      ["message", 12],
    ]);
    expect(events[1]).toMatchObject({ message: { version: 2 } });
  });

  it("sends messages it saw as their last change, at that change's seq", () => {
    const events = replayEvents(
      "general",
      [
        row({ seq: 3, changed_seq: 14 }, "reaction", 14),
        row({ seq: 2, changed_seq: 12 }, "edit", 12),
        row({ seq: 4, changed_seq: 16 }, "pin", 16),
        row({ seq: 5, changed_seq: 18, deleted_at: at(18), text: "" }, "delete", 18),
      ],
      10,
    );
    expect(events.map((e) => [e.type, e.seq, "change" in e ? e.change : null])).toEqual([
      ["message_updated", 12, "edit"],
      ["message_updated", 14, "reaction"],
      ["message_updated", 16, "pin"],
      ["message_deleted", 18, null],
    ]);
    expect(events[0]).toMatchObject({ at: at(12), room: "general" });
    expect(events[3]).toMatchObject({ parent: null });
  });

  it("pairs a deleted reply with its root changed by the same event", () => {
    const root = row({ id: "root", seq: 1, changed_seq: 20 }, "thread", 20);
    const reply = row(
      { id: "r", seq: 2, parent_id: "root", changed_seq: 20, deleted_at: at(20) },
      "delete",
      20,
    );
    const events = replayEvents("general", [root, reply], 10);
    expect(events).toEqual([
      {
        type: "message_deleted",
        room: "general",
        seq: 20,
        at: at(20),
        message: reply.message,
        parent: root.message,
      },
    ]);
  });

  it("a root whose unseen reply was deleted gets its own thread update", () => {
    const root = row({ id: "root", seq: 1, changed_seq: 20 }, "thread", 20);
    const reply = row(
      { id: "r", seq: 12, parent_id: "root", changed_seq: 20, deleted_at: at(20) },
      "delete",
      20,
    );
    expect(replayEvents("general", [root, reply], 10).map((e) => [e.type, e.seq])).toEqual([
      ["message", 12],
      ["message_updated", 20],
    ]);
  });
});
