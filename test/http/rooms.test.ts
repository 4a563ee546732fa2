import { env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Profile } from "../../src/domain/model";
import { roomStub } from "../helpers/rooms";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

interface Person {
  id: string;
  token: string;
}

async function person(prefix: string, name?: string): Promise<Person> {
  const id = uniqueId(prefix);
  return { id, token: await tokenFor(id, name ? { name } : {}) };
}

async function createRoom(owner: Person, body: Record<string, unknown> = {}) {
  const result = await call("/v1/rooms", { method: "POST", token: owner.token, body });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body as { key: string; number: number };
}

/** Posts through the room's RPC surface and flushes its outbox to D1, as its alarm would. */
async function post(key: string, sender: Person, text: string, to: string | null = null) {
  const profile: Profile = { id: sender.id, name: null, avatar: null };
  const ack = await roomStub(key).post(profile, { temp_id: uniqueId("t"), text, to });
  if (!ack.ok) throw new Error(ack.error.message);
  await runDurableObjectAlarm(roomStub(key).raw);
  return ack.value;
}

function expectRefusal(result: { status: number; body: unknown }, status: number, code: string) {
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  expect(errorCode(result as never)).toBe(code);
}

describe("POST /v1/rooms", () => {
  it("creates a group room with a generated key, making me owner and the others members", async () => {
    const owner = await person("owner", "Olive");
    const bob = await person("bob");
    await call("/v1/me", { method: "PUT", token: bob.token, body: { name: "Bob" } });
    const room = await createRoom(owner, {
      name: "Team",
      metadata: { topic: "launch" },
      members: [bob.id, owner.id],
    });
    expect(room).toMatchObject({
      kind: "group",
      name: "Team",
      metadata: { topic: "launch" },
      private: false,
    });
    expect(room.key).toMatch(/^r_[0-9a-f]{32}$/);
    expect(room.number).toBeGreaterThan(0);

    const view = await call(`/v1/rooms/${room.key}`, { token: owner.token });
    expect(view.status).toBe(200);
    expect(view.body.role).toBe("owner");
    expect(
      view.body.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role]).sort(),
    ).toEqual(
      [
        [owner.id, "owner"],
        [bob.id, "member"],
      ].sort(),
    );
    const rows = await env.DB.prepare("SELECT user_id, role FROM memberships WHERE room_id = ? ORDER BY role")
      .bind(room.number)
      .all();
    expect(rows.results).toHaveLength(2);
  });

  it("creates a live room with a chosen key and refuses the same key again with 409", async () => {
    const owner = await person("live-owner");
    const key = uniqueId("live");
    const room = await createRoom(owner, { kind: "live", key, private: true });
    expect(room).toMatchObject({ key, kind: "live", private: true });
    const again = await call("/v1/rooms", { method: "POST", token: owner.token, body: { key } });
    expectRefusal(again, 409, "conflict");
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM rooms WHERE key = ?").bind(key).first("n");
    expect(count).toBe(1);
  });

  it("refuses invalid bodies with 400", async () => {
    const owner = await person("bad-create");
    for (const body of [
      { kind: "direct" },
      { kind: "channel" },
      { key: "dm:a:b" },
      { key: "has space" },
      { key: "x".repeat(129) },
      { name: 5 },
      { metadata: [1, 2] },
      { metadata: "text" },
      { private: "yes" },
      { members: ["ok", "not:ok"] },
      { members: "bob" },
    ]) {
      const result = await call("/v1/rooms", { method: "POST", token: owner.token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(result)).toBe("bad_request");
    }
  });

  it("needs a chat token", async () => {
    expect((await call("/v1/rooms", { method: "POST", body: {} })).status).toBe(401);
  });
});

describe("GET /v1/rooms/{id}", () => {
  let owner: Person;
  let outsider: Person;
  let room: { key: string; number: number };
  beforeAll(async () => {
    owner = await person("get-owner");
    outsider = await person("get-outsider");
    room = await createRoom(owner, { name: "Lookup" });
  });

  it("finds a room by key and by numeric id", async () => {
    const byKey = await call(`/v1/rooms/${room.key}`, { token: owner.token });
    const byNumber = await call(`/v1/rooms/${room.number}`, { token: owner.token });
    expect(byKey.status).toBe(200);
    expect(byNumber.body).toEqual(byKey.body);
    expect(byKey.body.room.name).toBe("Lookup");
  });

  it("refuses a non-member with 403", async () => {
    expectRefusal(await call(`/v1/rooms/${room.key}`, { token: outsider.token }), 403, "forbidden");
    expectRefusal(await call(`/v1/rooms/${room.number}`, { token: outsider.token }), 403, "forbidden");
  });

  it("answers 404 for unknown keys and numbers and for keys no room can have", async () => {
    for (const ref of [uniqueId("missing"), "987654321", "99999999999999999999", "a%20b", "dm:only-one"]) {
      expectRefusal(await call(`/v1/rooms/${ref}`, { token: owner.token }), 404, "not_found");
    }
  });

  it("lets anyone view a public live room and no one else's private one", async () => {
    const publicLive = await createRoom(owner, { kind: "live" });
    const viewed = await call(`/v1/rooms/${publicLive.key}`, { token: outsider.token });
    expect(viewed.status).toBe(200);
    expect(viewed.body.role).toBeNull();
    const privateLive = await createRoom(owner, { kind: "live", private: true });
    expectRefusal(await call(`/v1/rooms/${privateLive.key}`, { token: outsider.token }), 403, "forbidden");
  });
});

describe("PATCH and DELETE /v1/rooms/{id}", () => {
  it("lets owners and admins change a room, not members or outsiders", async () => {
    const owner = await person("patch-owner");
    const admin = await person("patch-admin");
    const member = await person("patch-member");
    const outsider = await person("patch-outsider");
    const room = await createRoom(owner, { name: "Before", members: [member.id] });
    await call(`/v1/rooms/${room.key}/members`, {
      method: "POST",
      token: owner.token,
      body: { user_ids: [admin.id], role: "admin" },
    });

    const changed = await call(`/v1/rooms/${room.key}`, {
      method: "PATCH",
      token: owner.token,
      body: { name: "After", description: "d", metadata: { a: 1 } },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      key: room.key,
      name: "After",
      description: "d",
      metadata: { a: 1 },
    });
    const byAdmin = await call(`/v1/rooms/${room.number}`, {
      method: "PATCH",
      token: admin.token,
      body: { name: null },
    });
    expect(byAdmin.body.name).toBeNull();
    const row = await env.DB.prepare("SELECT name, description FROM rooms WHERE id = ?")
      .bind(room.number)
      .first();
    expect(row).toEqual({ name: null, description: "d" });

    expectRefusal(
      await call(`/v1/rooms/${room.key}`, { method: "PATCH", token: member.token, body: { name: "x" } }),
      403,
      "forbidden",
    );
    expectRefusal(
      await call(`/v1/rooms/${room.key}`, { method: "PATCH", token: outsider.token, body: { name: "x" } }),
      403,
      "forbidden",
    );
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("nope")}`, {
        method: "PATCH",
        token: owner.token,
        body: { name: "x" },
      }),
      404,
      "not_found",
    );
    for (const body of [
      {},
      { name: 1 },
      { metadata: null },
      { private: 1 },
      { description: "x".repeat(4097) },
    ]) {
      const result = await call(`/v1/rooms/${room.key}`, { method: "PATCH", token: owner.token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("lets only owners delete a room, which then is gone from D1 too", async () => {
    const owner = await person("del-owner");
    const admin = await person("del-admin");
    const room = await createRoom(owner);
    await call(`/v1/rooms/${room.key}/members`, {
      method: "POST",
      token: owner.token,
      body: { user_ids: [admin.id], role: "admin" },
    });
    expectRefusal(
      await call(`/v1/rooms/${room.key}`, { method: "DELETE", token: admin.token }),
      403,
      "forbidden",
    );
    const deleted = await call(`/v1/rooms/${room.number}`, { method: "DELETE", token: owner.token });
    expect(deleted.status).toBe(204);
    expectRefusal(await call(`/v1/rooms/${room.key}`, { token: owner.token }), 404, "not_found");
    expectRefusal(await call(`/v1/rooms/${room.number}`, { token: owner.token }), 404, "not_found");
    expect(await env.DB.prepare("SELECT id FROM rooms WHERE key = ?").bind(room.key).first()).toBeNull();
    expectRefusal(
      await call(`/v1/rooms/${room.key}`, { method: "DELETE", token: owner.token }),
      404,
      "not_found",
    );
  });
});

describe("members, roles, leaving and bans", () => {
  it("adds members, changes roles, removes and lets members leave", async () => {
    const owner = await person("mem-owner");
    const admin = await person("mem-admin");
    const carol = await person("mem-carol");
    const dave = await person("mem-dave");
    const room = await createRoom(owner);

    const added = await call(`/v1/rooms/${room.key}/members`, {
      method: "POST",
      token: owner.token,
      body: { user_ids: [carol.id, dave.id, carol.id] },
    });
    expect(added.status).toBe(200);
    expect(added.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [carol.id, dave.id].sort(),
    );
    expect(added.body.members.every((m: { role: string }) => m.role === "member")).toBe(true);

    const promoted = await call(`/v1/rooms/${room.key}/members/${carol.id}/role`, {
      method: "PUT",
      token: owner.token,
      body: { role: "admin" },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ user_id: carol.id, role: "admin" });

    const byMember = await call(`/v1/rooms/${room.key}/members`, {
      method: "POST",
      token: dave.token,
      body: { user_ids: [admin.id] },
    });
    expectRefusal(byMember, 403, "forbidden");
    const adminGrantsAdmin = await call(`/v1/rooms/${room.key}/members`, {
      method: "POST",
      token: carol.token,
      body: { user_ids: [admin.id], role: "admin" },
    });
    expectRefusal(adminGrantsAdmin, 403, "forbidden");
    const memberRoles = await call(`/v1/rooms/${room.key}/members/${carol.id}/role`, {
      method: "PUT",
      token: dave.token,
      body: { role: "member" },
    });
    expectRefusal(memberRoles, 403, "forbidden");

    expectRefusal(
      await call(`/v1/rooms/${room.key}/members/${carol.id}`, { method: "DELETE", token: dave.token }),
      403,
      "forbidden",
    );
    expect(
      (await call(`/v1/rooms/${room.key}/members/${dave.id}`, { method: "DELETE", token: carol.token }))
        .status,
    ).toBe(204);
    expectRefusal(await call(`/v1/rooms/${room.key}`, { token: dave.token }), 403, "forbidden");

    expect((await call(`/v1/rooms/${room.key}/leave`, { method: "POST", token: carol.token })).status).toBe(
      204,
    );
    expectRefusal(await call(`/v1/rooms/${room.key}`, { token: carol.token }), 403, "forbidden");
    const left = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM memberships WHERE room_id = ? AND user_id = ?",
    )
      .bind(room.number, carol.id)
      .first("n");
    expect(left).toBe(0);
  });

  it("refuses invalid member requests with 400 and unknown rooms with 404", async () => {
    const owner = await person("mem-bad");
    const room = await createRoom(owner);
    for (const body of [{}, { user_ids: [] }, { user_ids: ["a b"] }, { user_ids: ["x"], role: "king" }]) {
      const result = await call(`/v1/rooms/${room.key}/members`, {
        method: "POST",
        token: owner.token,
        body,
      });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
    for (const body of [{}, { role: "king" }]) {
      const result = await call(`/v1/rooms/${room.key}/members/${owner.id}/role`, {
        method: "PUT",
        token: owner.token,
        body,
      });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await call(`/v1/rooms/${room.key}/members/a:b`, { method: "DELETE", token: owner.token })).status,
    ).toBe(400);
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/members`, {
        method: "POST",
        token: owner.token,
        body: { user_ids: ["x"] },
      }),
      404,
      "not_found",
    );
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/leave`, { method: "POST", token: owner.token }),
      404,
      "not_found",
    );
  });

  it("bans a member out of the room and lifts the ban", async () => {
    const owner = await person("ban-owner");
    const eve = await person("ban-eve");
    const member = await person("ban-member");
    const room = await createRoom(owner, { members: [eve.id, member.id] });

    expectRefusal(
      await call(`/v1/rooms/${room.key}/bans/${eve.id}`, { method: "PUT", token: member.token }),
      403,
      "forbidden",
    );
    expect(
      (await call(`/v1/rooms/${room.key}/bans/${eve.id}`, { method: "PUT", token: owner.token })).status,
    ).toBe(204);
    expectRefusal(await call(`/v1/rooms/${room.key}`, { token: eve.token }), 403, "forbidden");
    expectRefusal(
      await call(`/v1/rooms/${room.key}/bans/${eve.id}`, { method: "DELETE", token: member.token }),
      403,
      "forbidden",
    );
    expect(
      (await call(`/v1/rooms/${room.key}/bans/${eve.id}`, { method: "DELETE", token: owner.token })).status,
    ).toBe(204);
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/bans/${eve.id}`, { method: "PUT", token: owner.token }),
      404,
      "not_found",
    );
  });
});

describe("adding myself to a room", () => {
  it("refuses a non-member, a banned and a removed user with 403, not 200 and no members", async () => {
    const owner = await person("self-owner");
    const outsider = await person("self-outsider");
    const banned = await person("self-banned");
    const removed = await person("self-removed");
    const room = await createRoom(owner, { members: [banned.id, removed.id] });
    await call(`/v1/rooms/${room.key}/bans/${banned.id}`, { method: "PUT", token: owner.token });
    await call(`/v1/rooms/${room.key}/members/${removed.id}`, { method: "DELETE", token: owner.token });
    for (const user of [outsider, banned, removed]) {
      const result = await call(`/v1/rooms/${room.key}/members`, {
        method: "POST",
        token: user.token,
        body: { user_ids: [user.id] },
      });
      expectRefusal(result, 403, "forbidden");
      expectRefusal(await call(`/v1/rooms/${room.key}`, { token: user.token }), 403, "forbidden");
    }
    const view = await call(`/v1/rooms/${room.key}`, { token: owner.token });
    expect(view.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([owner.id]);
  });
});

describe("PUT /v1/rooms/{id}/mute", () => {
  it("stores my mute flag in D1", async () => {
    const owner = await person("mute-owner");
    const member = await person("mute-member");
    const room = await createRoom(owner, { members: [member.id] });
    const muted = await call(`/v1/rooms/${room.number}/mute`, {
      method: "PUT",
      token: member.token,
      body: { muted: true },
    });
    expect(muted.status).toBe(200);
    expect(muted.body).toEqual({ muted: true });
    const flag = () =>
      env.DB.prepare("SELECT muted FROM memberships WHERE room_id = ? AND user_id = ?")
        .bind(room.number, member.id)
        .first("muted");
    expect(await flag()).toBe(1);
    await call(`/v1/rooms/${room.key}/mute`, { method: "PUT", token: member.token, body: { muted: false } });
    expect(await flag()).toBe(0);
    const listed = await call("/v1/rooms", { token: member.token });
    expect(listed.body.rooms[0]).toMatchObject({ muted: false });
  });

  it("refuses outsiders with 403, unknown rooms with 404 and invalid bodies with 400", async () => {
    const owner = await person("mute-owner2");
    const outsider = await person("mute-outsider");
    const room = await createRoom(owner);
    const publicLive = await createRoom(owner, { kind: "live" });
    const body = { muted: true };
    expectRefusal(
      await call(`/v1/rooms/${room.key}/mute`, { method: "PUT", token: outsider.token, body }),
      403,
      "forbidden",
    );
    expectRefusal(
      await call(`/v1/rooms/${publicLive.key}/mute`, { method: "PUT", token: outsider.token, body }),
      403,
      "forbidden",
    );
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/mute`, { method: "PUT", token: owner.token, body }),
      404,
      "not_found",
    );
    for (const bad of [undefined, {}, { muted: "yes" }]) {
      const result = await call(`/v1/rooms/${room.key}/mute`, {
        method: "PUT",
        token: owner.token,
        body: bad,
      });
      expect(result.status, JSON.stringify(bad)).toBe(400);
    }
  });
});

describe("POST /v1/direct", () => {
  it("gets or creates the one direct room of a pair, whoever asks", async () => {
    const alice = await person("dm-alice");
    const bob = await person("dm-bob");
    const created = await call("/v1/direct", {
      method: "POST",
      token: alice.token,
      body: { user_id: bob.id },
    });
    expect(created.status).toBe(201);
    expect(created.body.kind).toBe("direct");
    expect(created.body.key).toBe(`dm:${[alice.id, bob.id].sort().join(":")}`);

    const again = await call("/v1/direct", { method: "POST", token: alice.token, body: { user_id: bob.id } });
    const fromBob = await call("/v1/direct", {
      method: "POST",
      token: bob.token,
      body: { user_id: alice.id },
    });
    expect(again.status).toBe(200);
    expect(fromBob.status).toBe(200);
    expect(fromBob.body).toEqual(created.body);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM rooms WHERE key = ?")
      .bind(created.body.key)
      .first("n");
    expect(count).toBe(1);

    const view = await call(`/v1/rooms/${encodeURIComponent(created.body.key)}`, { token: bob.token });
    expect(view.status).toBe(200);
    expect(view.body.members.map((m: { role: string }) => m.role)).toEqual(["member", "member"]);
  });

  it("orders numeric user ids numerically in the key", async () => {
    const base = String(Date.now() % 100_000);
    const [low, high] = [`${base}9`, `${base}10`];
    const result = await call("/v1/direct", {
      method: "POST",
      token: await tokenFor(high),
      body: { user_id: low },
    });
    expect(result.body.key).toBe(`dm:${low}:${high}`);
  });

  it("refuses myself, invalid ids and a missing token", async () => {
    const alice = await person("dm-self");
    expectRefusal(
      await call("/v1/direct", { method: "POST", token: alice.token, body: { user_id: alice.id } }),
      400,
      "bad_request",
    );
    for (const body of [undefined, {}, { user_id: "" }, { user_id: "a:b" }, { user_id: 5 }]) {
      const result = await call("/v1/direct", { method: "POST", token: alice.token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call("/v1/direct", { method: "POST", body: { user_id: "x" } })).status).toBe(401);
  });
});

describe("GET /v1/rooms/{id}/messages", () => {
  let owner: Person;
  let member: Person;
  let room: { key: string; number: number };
  const seqs: number[] = [];
  beforeAll(async () => {
    owner = await person("hist-owner");
    member = await person("hist-member");
    room = await createRoom(owner, { members: [member.id] });
    for (const text of ["one", "two", "three"]) seqs.push((await post(room.key, owner, text)).seq);
  });

  it("pages history oldest first, by before, after and limit", async () => {
    const all = await call(`/v1/rooms/${room.key}/messages`, { token: member.token });
    expect(all.status).toBe(200);
    expect(all.body.messages.map((m: { text: string }) => m.text)).toEqual(["one", "two", "three"]);
    const newest = await call(`/v1/rooms/${room.number}/messages?limit=1`, { token: member.token });
    expect(newest.body.messages.map((m: { text: string }) => m.text)).toEqual(["three"]);
    const before = await call(`/v1/rooms/${room.key}/messages?before=${seqs[2]}`, { token: member.token });
    expect(before.body.messages.map((m: { text: string }) => m.text)).toEqual(["one", "two"]);
    const after = await call(`/v1/rooms/${room.key}/messages?after=${seqs[0]}&limit=1`, {
      token: member.token,
    });
    expect(after.body.messages.map((m: { text: string }) => m.text)).toEqual(["two"]);
  });

  it("refuses outsiders, unknown rooms and bad paging", async () => {
    const outsider = await person("hist-outsider");
    expectRefusal(await call(`/v1/rooms/${room.key}/messages`, { token: outsider.token }), 403, "forbidden");
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/messages`, { token: owner.token }),
      404,
      "not_found",
    );
    for (const query of ["limit=0", "limit=101", "limit=x", "before=-1", "after=1.5", "before=abc"]) {
      const result = await call(`/v1/rooms/${room.key}/messages?${query}`, { token: owner.token });
      expect(result.status, query).toBe(400);
      expect(errorCode(result)).toBe("bad_request");
    }
  });
});

describe("GET /v1/rooms", () => {
  it("lists my rooms, most recently active first, with unread counts and last messages", async () => {
    const me = await person("list-me");
    const peer = await person("list-peer");
    const third = await person("list-third");
    await createRoom(me, { name: "quiet" });
    const busy = await createRoom(peer, { name: "busy", members: [me.id, third.id] });
    await createRoom(peer, { name: "not mine" });

    await post(busy.key, peer, "hello");
    await post(busy.key, me, "mine, never unread");
    await post(busy.key, peer, "psst", third.id);
    await post(busy.key, peer, "to be deleted");
    const last = await post(busy.key, peer, "latest");
    await env.DB.prepare("UPDATE messages SET deleted_at = ? WHERE room_id = ? AND text = 'to be deleted'")
      .bind(new Date().toISOString(), busy.number)
      .run();

    const listed = await call("/v1/rooms", { token: me.token });
    expect(listed.status).toBe(200);
    expect(listed.body.next_cursor).toBeNull();
    expect(listed.body.rooms.map((r: { room: { name: string } }) => r.room.name)).toEqual(["busy", "quiet"]);
    const [busyItem, quietItem] = listed.body.rooms;
    expect(busyItem).toMatchObject({ role: "member", muted: false, unread_count: 2 });
    expect(busyItem.last_message).toMatchObject({
      id: last.id,
      seq: last.seq,
      text: "latest",
      room: busy.key,
    });
    expect(quietItem).toMatchObject({ role: "owner", unread_count: 0, last_message: null });

    const forThird = await call("/v1/rooms", { token: third.token });
    expect(forThird.body.rooms[0].unread_count).toBe(4);

    const newestWhisper = await post(busy.key, peer, "one more whisper", third.id);
    expect((await call("/v1/rooms", { token: me.token })).body.rooms[0].last_message.id).toBe(last.id);
    expect((await call("/v1/rooms", { token: third.token })).body.rooms[0].last_message.id).toBe(
      newestWhisper.id,
    );

    const read = await roomStub(busy.key).markRead(me.id, last.seq);
    expect(read.ok).toBe(true);
    await runDurableObjectAlarm(roomStub(busy.key).raw);
    expect((await call("/v1/rooms", { token: me.token })).body.rooms[0].unread_count).toBe(0);
  });

  it("pages with limit and cursor", async () => {
    const me = await person("page-me");
    const names = ["p1", "p2", "p3"];
    for (const name of names) await createRoom(me, { name });
    const first = await call("/v1/rooms?limit=2", { token: me.token });
    expect(first.body.rooms).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(`/v1/rooms?limit=2&cursor=${first.body.next_cursor}`, { token: me.token });
    expect(second.body.rooms).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const seen = [...first.body.rooms, ...second.body.rooms].map(
      (r: { room: { name: string } }) => r.room.name,
    );
    expect(seen).toEqual(["p3", "p2", "p1"]);
  });

  it("refuses bad paging with 400 and a missing token with 401", async () => {
    const me = await person("page-bad");
    for (const query of ["limit=0", "limit=101", "limit=two", "cursor=not-a-cursor", "cursor=e30"]) {
      const result = await call(`/v1/rooms?${query}`, { token: me.token });
      expect(result.status, query).toBe(400);
      expect(errorCode(result)).toBe("bad_request");
    }
    expect((await call("/v1/rooms")).status).toBe(401);
  });
});
