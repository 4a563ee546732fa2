import { describe, expect, it } from "vitest";
import type { CommandOutcome } from "../../src/domain/commands";
import { directRoomKey } from "../../src/domain/ids";
import type { Message, Notification } from "../../src/domain/model";
import { eventually, makeRoom, profile, roomStub, successValue, userStub } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

async function post(room: string, sender: string, text: string, extra: Record<string, unknown> = {}) {
  const sent = await roomStub(room).raw.run(profile(sender), {
    kind: "send",
    room,
    draft: { temp_id: `${sender}-${text}`, text, ...extra },
  });
  return successValue<{ message: Message }>(sent).message;
}

type Feed = { notifications: Notification[]; unread: number };

const feedOf = async (userId: string) => (await userStub(userId).notifications(userId, 50, null)) as Feed;

/** The user's feed once `ready` holds for it. */
async function feedWhen(userId: string, ready: (feed: Feed) => boolean): Promise<Feed> {
  let feed = await feedOf(userId);
  await eventually(async () => {
    feed = await feedOf(userId);
    return ready(feed);
  });
  return feed;
}

describe("notification feed", () => {
  it("gets entries for mentions, replies in my threads, direct messages and being added", async () => {
    const room = await makeRoom("nf-1", "ann", ["ben", "cat"]);
    const root = await post("nf-1", "ben", "a thread of ben's");
    await post("nf-1", "ann", "hey @cat, look");
    await post("nf-1", "ann", "an answer", { parent_id: root.id });
    // Members a room is created with were added by its creator: that is their first entry.
    const cat = await feedWhen("cat", (feed) => feed.notifications.length > 1);
    expect(cat.notifications.at(-1)).toMatchObject({ kind: "added", room: "nf-1", actor: { id: "ann" } });
    expect(cat.notifications.slice(0, 1)).toMatchObject([
      { kind: "mention", room: "nf-1", actor: { id: "ann" }, text: "hey @cat, look" },
    ]);
    const ben = await feedWhen("ben", (feed) => feed.notifications.some((n) => n.kind === "reply"));
    expect(ben.notifications[0]).toMatchObject({ kind: "reply", thread_id: root.id });

    const dm = directRoomKey("dan", "eve");
    await roomStub(dm).create({
      key: dm,
      kind: "direct",
      creator: profile("dan"),
      members: [{ profile: profile("eve"), role: "member" }],
    });
    await post(dm, "dan", "psst");
    const eve = await eventually(async () =>
      (await feedOf("eve")).notifications.find((n) => n.kind === "direct"),
    );
    expect(eve).toMatchObject({ room: dm, text: "psst" });

    await room.addMembers("ann", [{ profile: profile("fay"), role: "member" }]);
    expect((await feedOf("fay")).notifications).toMatchObject([
      { kind: "added", room: "nf-1", actor: { id: "ann" } },
    ]);
  });

  it("announces entries and counts to a following socket, and marks one or all read", async () => {
    await makeRoom("nf-2", "ann", ["gus"]);
    const gus = await openSocket("/v1/ws", { token: await tokenFor("gus") });
    await userStub("gus").userCommand(profile("gus"), { kind: "notifications_read", id: null });
    gus.send({ type: "follow", id: "f", scope: "notifications" });
    await gus.next(ofType("followed"));
    await post("nf-2", "ann", "@gus one");
    const first = await gus.next(ofType("notification"));
    expect(first).toMatchObject({ notification: { kind: "mention", text: "@gus one" } });
    expect(await gus.next(ofType("notification_count"))).toMatchObject({ unread: 1 });
    await post("nf-2", "ann", "@gus two");
    await gus.next((m) => m.type === "notification_count" && m.unread === 2);
    const id = (first.notification as Notification).id;
    gus.send({ type: "notifications_read", id: "r", notification_id: id });
    expect(await gus.next(ofType("notifications_read"))).toMatchObject({ id: "r", unread: 1 });
    gus.send({ type: "notifications_read", id: "all" });
    expect(await gus.next(ofType("notifications_reset"))).toMatchObject({ unread: 0 });
    const outcome = (await userStub("gus").userCommand(profile("gus"), {
      kind: "notifications_read",
      id: null,
    })) as CommandOutcome;
    expect(outcome).toMatchObject({ ok: true, value: { kind: "notifications_read", unread: 0 } });
  });

  it("forgets an entry whose message was deleted", async () => {
    await makeRoom("nf-3", "ann", ["hal"]);
    const m = await post("nf-3", "ann", "@hal soon gone");
    await eventually(async () => (await feedOf("hal")).notifications.some((n) => n.message_id === m.id));
    await roomStub("nf-3").raw.run(profile("ann"), { kind: "delete", room: "nf-3", message_id: m.id });
    const feed = await feedWhen("hal", (now) => !now.notifications.some((n) => n.message_id === m.id));
    expect(feed.notifications.map((n) => n.kind)).toEqual(["added"]);
  });
});

describe("room lifecycle on the user socket", () => {
  it("gives the full listing in room_added, mention counts in inbox, and room_read", async () => {
    const room = await makeRoom("rl-1", "ann");
    const ivo = await openSocket("/v1/ws", { token: await tokenFor("ivo") });
    await room.addMembers("ann", [{ profile: profile("ivo"), role: "member" }]);
    expect(await ivo.next(ofType("room_added"))).toMatchObject({
      room: "rl-1",
      listing: { room: { key: "rl-1" }, role: "member", unread: 0, pinned_at: null },
    });
    await post("rl-1", "ann", "hi @ivo");
    expect(await ivo.next((m) => m.type === "inbox" && m.room === "rl-1")).toMatchObject({
      unread: 1,
      mentions: 1,
      total_unread: 1,
    });
    await room.markRead("ivo", 10);
    expect(await ivo.next(ofType("room_read"))).toMatchObject({ room: "rl-1" });
  });

  it("keeps room_removed and room_deleted for a member who was offline, until they reconnect", async () => {
    const room = await makeRoom("rl-2", "ann", ["jo", "kim"]);
    await room.removeMember("ann", "jo");
    expect((await room.destroy("ann")).ok).toBe(true);
    const jo = await openSocket("/v1/ws", { token: await tokenFor("jo") });
    expect(await jo.next(ofType("room_removed"))).toMatchObject({ room: "rl-2", reason: "removed" });
    const kim = await openSocket("/v1/ws", { token: await tokenFor("kim") });
    expect(await kim.next(ofType("room_deleted"))).toMatchObject({ room: "rl-2" });
  });

  it("uncounts a deleted unread message and shows its tombstone as the last message", async () => {
    await makeRoom("rl-3", "ann", ["lu"]);
    const lu = await openSocket("/v1/ws", { token: await tokenFor("lu") });
    await new Promise((r) => setTimeout(r, 100));
    const m = await post("rl-3", "ann", "oops");
    await lu.next((e) => e.type === "inbox" && e.unread === 1);
    await roomStub("rl-3").raw.run(profile("ann"), { kind: "delete", room: "rl-3", message_id: m.id });
    const inbox = await lu.next((e) => e.type === "inbox" && e.unread === 0);
    expect(inbox).toMatchObject({ last_message: { id: m.id, text: "" } });
  });
});
