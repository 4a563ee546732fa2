import { describe, expect, it } from "vitest";
import { sleep } from "../helpers/rooms";
import { type CallResult, call } from "./client";
import { createRoom, expectRefusal, flush, type Person, person, send } from "./fixtures";

const feed = (who: Person, query = "") => call(`/v1/me/notifications${query}`, { token: who.token });

/** The feed once it holds `count` entries: the room hands them to the user object after storing the message. */
async function feedWith(who: Person, count: number, room: string): Promise<CallResult> {
  await flush(room);
  const until = Date.now() + 2_000;
  for (;;) {
    const result = await feed(who, "?limit=50");
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    if (result.body.notifications.length >= count || Date.now() > until) return result;
    await sleep(20);
  }
}

const markRead = (who: Person, body?: unknown) =>
  call("/v1/me/notifications/read", { method: "POST", token: who.token, body });

describe("GET /v1/me/notifications", () => {
  it("lists mentions, direct messages and being added, newest first, with the unread count", async () => {
    const alice = await person("feed-alice");
    const bob = await person("feed-bob");
    const room = await createRoom(alice, { members: [bob.id] });
    const mention = await send(room.key, alice, { text: `hey @${bob.id}, look` });
    await send(room.key, alice, { text: "no mention here" });
    await feedWith(bob, 2, room.key);
    const dm = await call("/v1/direct", { method: "POST", token: alice.token, body: { user_id: bob.id } });
    const direct = await send(dm.body.key, alice, { text: "direct hello" });
    const result = await feedWith(bob, 4, dm.body.key);
    expect(result.body.unread).toBe(4);
    expect(result.body.next_before).toBeNull();
    expect(result.body.notifications).toMatchObject([
      { kind: "direct", room: dm.body.key, message_id: direct.id, actor: { id: alice.id }, read_at: null },
      { kind: "added", room: dm.body.key, message_id: null, text: null, actor: { id: alice.id } },
      {
        kind: "mention",
        room: room.key,
        message_id: mention.id,
        actor: { id: alice.id },
        text: `hey @${bob.id}, look`,
        read_at: null,
      },
      { kind: "added", room: room.key, message_id: null, actor: { id: alice.id } },
    ]);
    expect((await feed(alice)).body).toEqual({ notifications: [], unread: 0, next_before: null });
  });

  it("pages with limit and before, without gaps or repeats", async () => {
    const alice = await person("page-alice");
    const bob = await person("page-bob");
    const room = await createRoom(alice, { members: [bob.id] });
    for (let i = 0; i < 5; i++) await send(room.key, alice, { text: `@${bob.id} ${i}` });
    await feedWith(bob, 6, room.key);
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const query: string = `?limit=2${before ? `&before=${before}` : ""}`;
      const page: CallResult = await feed(bob, query);
      expect(page.body.notifications.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.notifications.map((n: { text: string }) => n.text));
      before = page.body.next_before;
    } while (before);
    expect(seen).toEqual([...[4, 3, 2, 1, 0].map((i) => `@${bob.id} ${i}`), null]);
  });

  it("refuses bad paging with 400 and no token with 401", async () => {
    const bob = await person("feed-bad");
    for (const query of ["?limit=0", "?limit=51", "?limit=x", `?before=${"b".repeat(65)}`, "?before="]) {
      expectRefusal(await feed(bob, query), 400, "bad_request");
    }
    expectRefusal(await call("/v1/me/notifications"), 401, "unauthorized");
  });
});

describe("POST /v1/me/notifications/read", () => {
  it("marks one entry read, then all of them; an unknown or read entry changes nothing", async () => {
    const alice = await person("read-alice");
    const bob = await person("read-bob");
    const room = await createRoom(alice, { members: [bob.id] });
    for (let i = 0; i < 3; i++) await send(room.key, alice, { text: `@${bob.id} #${i}` });
    const listed = await feedWith(bob, 4, room.key);
    expect(listed.body.unread).toBe(4);
    const [newest] = listed.body.notifications;

    const one = await markRead(bob, { id: newest.id });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body).toEqual({ unread: 3 });
    const after = await feed(bob);
    expect(after.body.unread).toBe(3);
    expect(after.body.notifications[0].read_at).toEqual(expect.any(String));
    expect((await markRead(bob, { id: newest.id })).body).toEqual({ unread: 3 });
    expect((await markRead(bob, { id: crypto.randomUUID() })).body).toEqual({ unread: 3 });

    expect((await markRead(bob)).body).toEqual({ unread: 0 });
    expect((await markRead(bob, {})).body).toEqual({ unread: 0 });
    expect((await feed(bob)).body.notifications.every((n: { read_at: string | null }) => n.read_at)).toBe(
      true,
    );
  });

  it("never reaches another user's feed, and refuses bad bodies with 400 and no token with 401", async () => {
    const alice = await person("own-alice");
    const bob = await person("own-bob");
    const room = await createRoom(alice, { members: [bob.id] });
    await send(room.key, alice, { text: `@${bob.id} only yours` });
    const bobs = await feedWith(bob, 2, room.key);
    expect((await markRead(alice, { id: bobs.body.notifications[0].id })).body).toEqual({ unread: 0 });
    expect((await markRead(alice)).body).toEqual({ unread: 0 });
    expect((await feed(bob)).body.unread).toBe(2);

    for (const body of [{ id: 5 }, { id: "" }, { id: "x".repeat(65) }, "{not json"]) {
      expectRefusal(await markRead(bob, body), 400, "bad_request");
    }
    expectRefusal(await call("/v1/me/notifications/read", { method: "POST" }), 401, "unauthorized");
  });
});
