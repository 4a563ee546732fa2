import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_EMOJI_PER_MESSAGE } from "../../src/domain/reactions";
import { LifecycleStore } from "../../src/rooms/lifecycle-store";
import { RoomStore } from "../../src/rooms/room-store";
import { message, user } from "../domain/fixtures";

/** A fresh RoomDO's own SQLite, with the room's tables already made, so the lifecycle tables must live beside them. */
async function withStore(run: (store: LifecycleStore, sql: SqlStorage) => void): Promise<void> {
  const stub = env.ROOMS.get(env.ROOMS.newUniqueId());
  await runInDurableObject(stub, (_instance, state) => {
    new RoomStore(state.storage.sql);
    run(new LifecycleStore(state.storage.sql), state.storage.sql);
  });
}

const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;
const root = message({ id: "root", seq: 1, sender: user("ann") });
const reply = (seq: number, sender: string) =>
  message({ id: `r${seq}`, seq, parent_id: "root", sender: user(sender), created_at: at(seq) });

describe("threads", () => {
  it("summarizes replies, lists followers and a member's threads, and survives a replayed reply", async () => {
    await withStore((store) => {
      store.recordReply(root, reply(2, "bob"));
      store.recordReply(root, reply(3, "cy"));
      store.recordReply(root, reply(4, "bob"));
      expect(store.recordReply(root, reply(4, "bob"))).toEqual({
        replies_count: 3,
        participants_count: 3,
        participants_preview: [user("ann"), user("bob"), user("cy")],
        last_reply_at: at(4),
      });
      expect(store.followers("root").sort()).toEqual(["ann", "bob", "cy"]);
      expect(store.replySeqs("root", 0, 100, 10, false)).toEqual([2, 3, 4]);
      expect(store.replySeqs("root", 2, 100, 1, true)).toEqual([4]);
      expect(store.threadsOf("ann", 10).map((t) => t.root_id)).toEqual(["root"]);
      expect(store.threadsOf("cy", 10)).toEqual([
        { root_id: "root", root_seq: 1, last_reply_seq: 4, unread: 2 },
      ]);
      expect(store.threadsOf("dee", 10)).toEqual([]);
      expect(store.threadSummary("nothing")).toBeNull();
    });
  });

  it("orders a member's threads by latest reply and pages below a reply seq", async () => {
    await withStore((store) => {
      const other = message({ id: "other", seq: 5, sender: user("bob") });
      store.recordReply(root, reply(2, "cy"));
      store.recordReply(other, message({ id: "o6", seq: 6, parent_id: "other", sender: user("cy") }));
      expect(store.threadsOf("cy", 10).map((t) => t.root_id)).toEqual(["other", "root"]);
      expect(store.threadsOf("cy", 10, 6).map((t) => t.root_id)).toEqual(["root"]);
    });
  });

  it("keeps thread read markers and per-thread unread counts of others' replies", async () => {
    await withStore((store) => {
      store.recordReply(root, reply(2, "bob"));
      store.recordReply(root, reply(3, "ann"));
      expect(store.threadUnread("ann", "root")).toBe(1);
      expect(store.markThreadRead("ann", "root")).toBe(3);
      expect(store.threadUnread("ann", "root")).toBe(0);
      store.recordReply(root, reply(4, "bob"));
      expect(store.threadUnread("ann", "root")).toBe(1);
      expect(store.markThreadRead("ann", "nothing")).toBeNull();
    });
  });

  it("a deleted reply leaves the thread and its participants recomputed; the last one ends the thread", async () => {
    await withStore((store) => {
      store.recordReply(root, reply(2, "bob"));
      store.recordReply(root, reply(3, "cy"));
      store.recordReply(root, reply(4, "bob"));
      expect(store.forgetMessage(reply(3, "cy"))).toEqual({
        root_id: "root",
        thread: {
          replies_count: 2,
          participants_count: 2,
          participants_preview: [user("ann"), user("bob")],
          last_reply_at: at(4),
        },
      });
      expect(store.followers("root").sort()).toEqual(["ann", "bob"]);
      store.forgetMessage(reply(2, "bob"));
      expect(store.forgetMessage(reply(4, "bob"))).toEqual({ root_id: "root", thread: null });
      expect(store.forgetMessage(root)).toBeNull();
    });
  });
});

describe("reactions", () => {
  it("adds one per user per emoji, idempotently, and removes them", async () => {
    await withStore((store) => {
      expect(store.react("m1", "👍", user("bob"), true, at(1))).toMatchObject({
        ok: true,
        value: { changed: true },
      });
      expect(store.react("m1", "👍", user("bob"), true, at(2))).toMatchObject({ value: { changed: false } });
      store.react("m1", "🎉", user("cy"), true, at(3));
      store.react("m1", "👍", user("cy"), true, at(4));
      expect(store.reactions("m1")).toEqual([
        { emoji: "👍", count: 2, users: [user("bob"), user("cy")] },
        { emoji: "🎉", count: 1, users: [user("cy")] },
      ]);
      expect(store.react("m1", "👍", user("bob"), false, at(5))).toMatchObject({
        // Emoji order by their oldest standing reaction: cy's 🎉 is now older than cy's 👍.
        value: { changed: true, reactions: [{ emoji: "🎉" }, { emoji: "👍", count: 1 }] },
      });
      expect(store.react("m1", "👍", user("bob"), false, at(6))).toMatchObject({ value: { changed: false } });
      expect(store.reactions("m2")).toEqual([]);
    });
  });

  it(`refuses a new emoji beyond ${MAX_EMOJI_PER_MESSAGE} as a conflict, still taking existing ones`, async () => {
    await withStore((store) => {
      for (let i = 0; i < MAX_EMOJI_PER_MESSAGE; i++) store.react("m1", `:e${i}:`, user("bob"), true, at(1));
      expect(store.react("m1", ":new:", user("cy"), true, at(2))).toMatchObject({
        error: { code: "conflict" },
      });
      expect(store.react("m1", ":e0:", user("cy"), true, at(2))).toMatchObject({ value: { changed: true } });
      expect(store.react("m1", ":new:", user("cy"), false, at(2))).toMatchObject({
        value: { changed: false },
      });
    });
  });
});

describe("edit history, pins and deletion", () => {
  it("keeps each replaced version for moderators and forgets them on deletion", async () => {
    await withStore((store) => {
      const v1 = message({ text: "helo", data: { a: 1 } });
      store.recordEdit(v1, at(5));
      store.recordEdit({ ...v1, text: "hello", data: null, version: 2 }, at(6));
      expect(store.editHistory(v1.id)).toEqual([
        { version: 1, text: "helo", data: { a: 1 }, replaced_at: at(5) },
        { version: 2, text: "hello", data: null, replaced_at: at(6) },
      ]);
      store.react(v1.id, "👍", user("bob"), true, at(7));
      store.setPinned({ ...v1, pinned_at: at(8) }, user("ann"));
      store.forgetMessage(v1);
      expect(store.editHistory(v1.id)).toEqual([]);
      expect(store.reactions(v1.id)).toEqual([]);
      expect(store.pinCount()).toBe(0);
    });
  });

  it("lists room pins newest first and unpins", async () => {
    await withStore((store) => {
      store.setPinned(message({ id: "a", seq: 1, pinned_at: at(1) }), user("ann"));
      store.setPinned(message({ id: "b", seq: 2, pinned_at: at(3) }), user("bob"));
      expect(store.pins(10)).toEqual([
        { message_id: "b", seq: 2, pinned_at: at(3), pinned_by: user("bob") },
        { message_id: "a", seq: 1, pinned_at: at(1), pinned_by: user("ann") },
      ]);
      store.setPinned(message({ id: "b", seq: 2, pinned_at: null }), user("bob"));
      expect(store.pins(10).map((p) => p.message_id)).toEqual(["a"]);
      expect(store.pinCount()).toBe(1);
    });
  });
});

describe("members' own room pins", () => {
  it("pins idempotently, queues each change for D1 and forgets flushed unpins", async () => {
    await withStore((store) => {
      expect(store.pinRoom("bob", true, at(1))).toEqual({ changed: true, pinned_at: at(1) });
      expect(store.pinRoom("bob", true, at(2))).toEqual({ changed: false, pinned_at: at(1) });
      expect(store.roomPinOf("bob")).toBe(at(1));
      expect(store.pendingRoomPins(10)).toEqual([{ user_id: "bob", pinned_at: at(1) }]);
      store.roomPinsFlushed([{ user_id: "bob", pinned_at: at(1) }]);
      expect(store.pendingRoomPins(10)).toEqual([]);
      expect(store.pinRoom("bob", false, at(3))).toEqual({ changed: true, pinned_at: null });
      expect(store.pinRoom("bob", false, at(3))).toEqual({ changed: false, pinned_at: null });
      const pending = store.pendingRoomPins(10);
      expect(pending).toEqual([{ user_id: "bob", pinned_at: null }]);
      store.roomPinsFlushed(pending);
      expect(store.pendingRoomPins(10)).toEqual([]);
    });
  });

  it("a pin that moved during a flush stays pending", async () => {
    await withStore((store) => {
      store.pinRoom("bob", true, at(1));
      const pending = store.pendingRoomPins(10);
      store.pinRoom("bob", false, at(2));
      store.roomPinsFlushed(pending);
      expect(store.pendingRoomPins(10)).toEqual([{ user_id: "bob", pinned_at: null }]);
    });
  });

  it("forgets a departed member's pin and thread markers, and wipe forgets everything", async () => {
    await withStore((store, sql) => {
      store.pinRoom("bob", true, at(1));
      store.recordReply(root, reply(2, "cy"));
      store.markThreadRead("bob", "root");
      store.forgetMember("bob");
      expect(store.roomPinOf("bob")).toBeNull();
      expect(store.threadUnread("bob", "root")).toBe(1);
      store.wipe();
      expect(store.threadSummary("root")).toBeNull();
      expect(sql.exec("SELECT COUNT(*) AS n FROM thread_replies").one().n).toBe(0);
    });
  });
});
