import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replayEvents } from "../../src/domain/lifecycle";
import {
  changedMessagesAfter,
  flushRoomRows,
  readMessageRowById,
  readMessageRows,
  readThreadRows,
} from "../../src/storage/room-rows";
import { user } from "../domain/fixtures";
import { change, flush, roomMessage, roomRow } from "./fixtures";

describe("schema.sql", () => {
  it("applies again over itself: every statement is idempotent", async () => {
    const statements = env.TEST_SCHEMA.replace(/--.*$/gm, "")
      .split(/;\s*$/m)
      .map((s) => s.trim())
      .filter(Boolean);
    expect(statements.some((s) => s.startsWith("CREATE TRIGGER"))).toBe(true);
    await env.DB.batch(statements.map((s) => env.DB.prepare(s)));
  });
});

describe("message rows", () => {
  it("round-trip every lifecycle field", async () => {
    const r = await roomRow("group", ["ann", "bob"]);
    const m = roomMessage(r, {
      seq: 1,
      changed_seq: 4,
      version: 2,
      edited_at: "2026-01-01T00:01:00.000Z",
      data: { k: [1] },
      thread: {
        replies_count: 2,
        participants_count: 2,
        participants_preview: [user("ann"), user("bob")],
        last_reply_at: "2026-01-01T00:02:00.000Z",
      },
      reactions: [{ emoji: "👍", count: 1, users: [user("bob")] }],
      pinned_at: "2026-01-01T00:03:00.000Z",
      mentions: ["bob"],
      mentions_room: true,
    });
    await flush(r, [change(m, "edit")]);
    expect(await readMessageRowById(env.DB, r, m.id)).toEqual(m);
    expect(await readMessageRowById(env.DB, r, "nope")).toBeNull();
  });

  it("keep the newest change whatever order flushes arrive in, and a replay changes nothing", async () => {
    const r = await roomRow("group", ["ann"]);
    const posted = roomMessage(r, { seq: 1, text: "first" });
    const edited = { ...posted, text: "second", version: 2, changed_seq: 5 };
    await flush(r, [change(edited, "edit")]);
    await flush(r, [change(posted)]);
    await flush(r, [change(edited, "edit")]);
    expect(await readMessageRowById(env.DB, r, posted.id)).toMatchObject({ text: "second", version: 2 });
  });

  it("wipe a tombstone's content", async () => {
    const r = await roomRow("group", ["ann"]);
    const m = roomMessage(r, { seq: 1, text: "secret", data: { x: 1 }, mentions: ["bob"] });
    await flush(r, [change(m)]);
    const tombstone = {
      ...m,
      text: "",
      data: null,
      mentions: [],
      deleted_at: "2026-01-01T00:05:00.000Z",
      changed_seq: 2,
    };
    await flush(r, [change(tombstone, "delete", "2026-01-01T00:05:00.000Z")]);
    const row = await env.DB.prepare(
      "SELECT text, data, mentions, deleted_at, last_change FROM messages WHERE id = ?",
    )
      .bind(m.id)
      .first();
    expect(row).toEqual({
      text: "",
      data: null,
      mentions: "[]",
      deleted_at: "2026-01-01T00:05:00.000Z",
      last_change: "delete",
    });
  });

  it("move the room's last message only for new posts, and write members' room pins", async () => {
    const r = await roomRow("group", ["ann", "bob"]);
    await flush(r, [change(roomMessage(r, { seq: 3 }))]);
    await flush(r, [change(roomMessage(r, { seq: 1, changed_seq: 4 }), "edit")]);
    const seq = await env.DB.prepare("SELECT last_message_seq AS s FROM rooms WHERE id = ?")
      .bind(r.number)
      .first("s");
    expect(seq).toBe(3);
    await flushRoomRows(env.DB, r.number, [], [], "2026-01-01T00:00:00.000Z", [
      { user_id: "bob", pinned_at: "2026-01-01T00:09:00.000Z" },
    ]);
    const pinned = await env.DB.prepare(
      "SELECT user_id, pinned_at FROM memberships WHERE room_id = ? ORDER BY user_id",
    )
      .bind(r.number)
      .all();
    expect(pinned.results).toEqual([
      { user_id: "ann", pinned_at: null },
      { user_id: "bob", pinned_at: "2026-01-01T00:09:00.000Z" },
    ]);
  });

  it("read a thread's replies visible to the reader", async () => {
    const r = await roomRow("group", ["ann", "bob"]);
    const root = roomMessage(r, { seq: 1 });
    const replies = [2, 3, 4].map((seq) => roomMessage(r, { seq, parent_id: root.id }));
    const other = roomMessage(r, { seq: 5 });
    await flush(
      r,
      [root, ...replies, other].map((m) => change(m)),
    );
    const page = await readThreadRows(env.DB, r, root.id, "bob", 0, 100, 2, true);
    expect(page.map((m) => m.seq)).toEqual([4, 3]);
    expect((await readMessageRows(env.DB, r, "bob", 0, 100, 10, false)).map((m) => m.seq)).toEqual([
      1, 2, 3, 4, 5,
    ]);
  });
});

describe("resume from D1", () => {
  /**
   * Seqs: 1 root, 2 reply, 3 plain, 4 whisper to cy; client stopped at 4. Then 5 edit of 3, 6 new message,
   * 7 reaction on 6, 8 deletion of reply 2 (root 1 changed by the same event); the room's hot log starts at 9.
   */
  async function history() {
    const r = await roomRow("group", ["ann", "bob", "cy"]);
    const root = roomMessage(r, { seq: 1, changed_seq: 8 });
    const reply = roomMessage(r, {
      seq: 2,
      parent_id: root.id,
      changed_seq: 8,
      text: "",
      deleted_at: "2026-01-01T00:08:00.000Z",
    });
    const edited = roomMessage(r, { seq: 3, changed_seq: 5, version: 2, text: "fixed" });
    const whisper = roomMessage(r, { seq: 4, to: "cy", changed_seq: 9 });
    const fresh = roomMessage(r, {
      seq: 6,
      changed_seq: 7,
      reactions: [{ emoji: "👍", count: 1, users: [] }],
    });
    const recent = roomMessage(r, { seq: 9 });
    await flush(r, [
      change(root, "thread", "2026-01-01T00:08:00.000Z"),
      change(reply, "delete", "2026-01-01T00:08:00.000Z"),
      change(edited, "edit", "2026-01-01T00:05:00.000Z"),
      change(whisper, "edit"),
      change(fresh, "reaction"),
      change(recent),
    ]);
    return { r, root, reply, edited, fresh };
  }

  it("returns the rows changed or posted in (since, floor) and rebuilds their events", async () => {
    const { r, root, reply, edited, fresh } = await history();
    const { rows, next } = await changedMessagesAfter(env.DB, r, "bob", 4, 9, 100);
    expect(next).toBeNull();
    expect(rows.map((row) => [row.message.seq, row.change])).toEqual([
      [3, "edit"],
      [6, "reaction"],
      [1, "thread"],
      [2, "delete"],
    ]);
    const events = replayEvents(r.key, rows, 4);
    expect(events).toEqual([
      {
        type: "message_updated",
        room: r.key,
        seq: 5,
        at: "2026-01-01T00:05:00.000Z",
        change: "edit",
        message: edited,
      },
      { type: "message", room: r.key, seq: 6, at: fresh.created_at, message: fresh },
      {
        type: "message_deleted",
        room: r.key,
        seq: 8,
        at: "2026-01-01T00:08:00.000Z",
        message: reply,
        parent: root,
      },
    ]);
  });

  it("leaves out whispers to others and changes at or above the floor", async () => {
    const { r } = await history();
    const forCy = await changedMessagesAfter(env.DB, r, "cy", 3, 9, 100);
    expect(forCy.rows.map((row) => row.message.seq)).toContain(4);
    const forBob = await changedMessagesAfter(env.DB, r, "bob", 3, 9, 100);
    expect(forBob.rows.map((row) => row.message.seq)).not.toContain(4);
    const early = await changedMessagesAfter(env.DB, r, "bob", 4, 6, 100);
    expect(early.rows.map((row) => row.message.seq)).toEqual([3]);
  });

  it("pages without splitting the rows of one event", async () => {
    const { r } = await history();
    const seen: number[][] = [];
    let from: number | null = 4;
    while (from !== null) {
      const page: Awaited<ReturnType<typeof changedMessagesAfter>> = await changedMessagesAfter(
        env.DB,
        r,
        "bob",
        4,
        9,
        1,
        from,
      );
      seen.push(page.rows.map((row) => row.message.seq));
      from = page.next;
    }
    expect(seen).toEqual([[3], [6], [1, 2]]);
  });
});
