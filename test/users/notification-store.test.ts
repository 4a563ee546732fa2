import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addedNotification, type NotificationDraft, notificationsFor } from "../../src/domain/notifications";
import { FEED_CAP, NotificationStore } from "../../src/users/notification-store";
import { UserStore } from "../../src/users/user-store";
import { message, room, user } from "../domain/fixtures";

/** A fresh UserDO's own SQLite, beside the user's other tables. */
async function withFeed(run: (feed: NotificationStore) => void): Promise<void> {
  const stub = env.USERS.get(env.USERS.newUniqueId());
  await runInDurableObject(stub, (_instance, state) => {
    new UserStore(state.storage.sql);
    run(new NotificationStore(state.storage.sql));
  });
}

const mentionOf = (seq: number): NotificationDraft => {
  const m = message({ seq, id: `m${seq}`, text: `hi @bob ${seq}`, mentions: ["bob"] });
  const [draft] = notificationsFor(m, room(), { members: ["ann", "bob"], threadFollowers: [] });
  if (!draft) throw new Error("no draft");
  return draft;
};

describe("notification feed", () => {
  it("adds entries with ids, newest first, and ignores a redelivered one", async () => {
    await withFeed((feed) => {
      const added = feed.add([mentionOf(1), mentionOf(2)]);
      expect(added.map((n) => [n.kind, n.message_seq, n.read_at])).toEqual([
        ["mention", 1, null],
        ["mention", 2, null],
      ]);
      expect(added[0]).toMatchObject({ actor: user("ann"), room: "general", text: "hi @bob 1" });
      expect(added[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(feed.add([mentionOf(2)])).toEqual([]);
      expect(feed.list(10).map((n) => n.message_seq)).toEqual([2, 1]);
      expect(feed.unreadCount()).toBe(2);
    });
  });

  it("pages with the last id of the previous page", async () => {
    await withFeed((feed) => {
      feed.add([1, 2, 3, 4, 5].map(mentionOf));
      const first = feed.list(2);
      expect(first.map((n) => n.message_seq)).toEqual([5, 4]);
      expect(feed.list(2, first.at(-1)?.id).map((n) => n.message_seq)).toEqual([3, 2]);
    });
  });

  it("keeps an added-to-room entry per time it happened", async () => {
    await withFeed((feed) => {
      const added = (at: string) => addedNotification(room(), user("ann"), "bob", at);
      const first = added("2026-01-01T00:00:00.000Z");
      const second = added("2026-02-01T00:00:00.000Z");
      if (!first || !second) throw new Error("no draft");
      expect(feed.add([first, first, second])).toHaveLength(2);
    });
  });

  it("marks one read, then all read, answering whether anything changed", async () => {
    await withFeed((feed) => {
      const [a] = feed.add([mentionOf(1), mentionOf(2), mentionOf(3)]);
      if (!a) throw new Error("nothing added");
      expect(feed.markRead(a.id, "2026-01-02T00:00:00.000Z")).toBe(true);
      expect(feed.markRead(a.id, "2026-01-03T00:00:00.000Z")).toBe(false);
      expect(feed.markRead("unknown", "2026-01-03T00:00:00.000Z")).toBe(false);
      expect(feed.unreadCount()).toBe(2);
      expect(feed.list(10).find((n) => n.id === a.id)?.read_at).toBe("2026-01-02T00:00:00.000Z");
      expect(feed.markAllRead("2026-01-04T00:00:00.000Z")).toBe(2);
      expect(feed.markAllRead("2026-01-04T00:00:00.000Z")).toBe(0);
      expect(feed.unreadCount()).toBe(0);
    });
  });

  it(`keeps the newest ${FEED_CAP} entries`, async () => {
    await withFeed((feed) => {
      feed.add(Array.from({ length: FEED_CAP + 20 }, (_, i) => mentionOf(i + 1)));
      const all = feed.list(FEED_CAP + 50);
      expect(all).toHaveLength(FEED_CAP);
      expect(all[0]?.message_seq).toBe(FEED_CAP + 20);
      expect(all.at(-1)?.message_seq).toBe(21);
      expect(feed.add([mentionOf(FEED_CAP + 21)])).toHaveLength(1);
      expect(feed.list(1)[0]?.message_seq).toBe(FEED_CAP + 21);
    });
  });

  it("revises an edited message's preview and forgets deleted messages and lost rooms", async () => {
    await withFeed((feed) => {
      feed.add([mentionOf(1), mentionOf(2)]);
      feed.reviseMessage("general", "m1", "hi @bob, edited");
      expect(feed.list(10).find((n) => n.message_id === "m1")?.text).toBe("hi @bob, edited");
      expect(feed.forgetMessage("general", "m1")).toBe(true);
      expect(feed.forgetMessage("general", "m1")).toBe(false);
      const [two] = feed.list(10);
      feed.markRead(two?.id ?? "", "2026-01-02T00:00:00.000Z");
      expect(feed.forgetRoom("general")).toBe(false);
      expect(feed.list(10)).toEqual([]);
    });
  });
});
