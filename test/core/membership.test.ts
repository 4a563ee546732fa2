import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/domain/model";
import type { RoomDO } from "../../src/rooms/room-do";
import { makeRoom, profile, roomStub, sleep, successValue } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

const roomSocket = async (room: string, user: string) =>
  openSocket(`/v1/rooms/${room}/ws`, { token: await tokenFor(user) });

describe("membership, bans and history", () => {
  it("closes a banned member's sockets with 4005 and keeps them out of a public live room", async () => {
    const live = roomStub("mem-live");
    await live.create({ key: "mem-live", kind: "live", creator: profile("host"), members: [] });
    const viewer = await roomSocket("mem-live", "troll");
    viewer.send({ type: "subscribe" });
    await viewer.next(ofType("subscribed"));
    expect(successValue(await live.ban("host", "troll"))).toBeNull();
    expect((await viewer.closed).code).toBe(4005);
    const again = await roomSocket("mem-live", "troll").catch((e: Error) => e);
    expect(String(again)).toContain("403");
    expect(await live.ban("troll", "host")).toMatchObject({ ok: false, error: { code: "forbidden" } });
  });

  it("refuses role changes and removals the actor's role does not allow", async () => {
    const room = await makeRoom("mem-roles", "own", ["adm", "mem"]);
    expect(successValue(await room.setRole("own", "adm", "admin"))).toMatchObject({ role: "admin" });
    expect(await room.setRole("adm", "mem", "owner")).toMatchObject({
      ok: false,
      error: { code: "forbidden" },
    });
    expect(await room.removeMember("mem", "adm")).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect(await room.removeMember("own", "own")).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await room.update("mem", { name: "nope" })).toMatchObject({
      ok: false,
      error: { code: "forbidden" },
    });
    expect(successValue(await room.removeMember("adm", "mem"))).toBeNull();
    const view = successValue<{ members: { user_id: string; role: string; name: string | null }[] }>(
      await room.view("own"),
    );
    expect(view.members.map((m) => [m.user_id, m.role, m.name])).toEqual([
      ["adm", "admin", "User adm"],
      ["own", "owner", "User own"],
    ]);
  });

  it("announces room updates in order and evicts non-members when a live room turns private", async () => {
    const live = roomStub("mem-private");
    await live.create({ key: "mem-private", kind: "live", creator: profile("host"), members: [] });
    const host = await roomSocket("mem-private", "host");
    const guest = await roomSocket("mem-private", "guest");
    host.send({ type: "subscribe" });
    guest.send({ type: "subscribe" });
    await host.next(ofType("subscribed"));
    await guest.next(ofType("subscribed"));
    await live.update("host", { private: true, name: "Backstage" });
    expect(await host.next(ofType("room_updated"))).toMatchObject({
      seq: 1,
      info: { private: true, name: "Backstage" },
    });
    expect((await guest.closed).code).toBe(4004);
  });

  it("sends a direct message from the native user socket, creating the direct room once", async () => {
    const ann = await openSocket("/v1/ws", { token: await tokenFor("dm-ann") });
    ann.send({ type: "dm", to: "dm-bob", temp_id: "d1", text: "hi bob" });
    const ack = await ann.next(ofType("ack"));
    expect(ack).toMatchObject({ room: "dm:dm-ann:dm-bob", seq: 1, temp_id: "d1" });
    ann.send({ type: "dm", to: "dm-bob", temp_id: "d2", text: "again" });
    expect(await ann.next(ofType("ack"))).toMatchObject({ room: "dm:dm-ann:dm-bob", seq: 2 });
    ann.send({ type: "dm", to: "dm-ann", temp_id: "d3", text: "me" });
    expect(await ann.next(ofType("error"))).toMatchObject({ temp_id: "d3", code: "bad_request" });
  });

  it("pages history seamlessly across the room's hot log and D1", async () => {
    const room = await makeRoom("mem-history", "hist");
    for (let i = 1; i <= 12; i++) await room.post(profile("hist"), { temp_id: `h${i}`, text: `m${i}` });
    await runDurableObjectAlarm(room.raw);
    // Keep only the newest events hot, as pruning does once a room outgrows its hot window.
    await runInDurableObject(room.raw, (_instance: RoomDO, state) => {
      state.storage.sql.exec("DELETE FROM events WHERE seq <= 7");
      state.storage.sql.exec("DELETE FROM messages WHERE seq <= 7");
    });
    const newest = successValue<Message[]>(await room.history("hist", { limit: 8 }));
    expect(newest.map((m) => m.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    const older = successValue<Message[]>(await room.history("hist", { before: 5, limit: 10 }));
    expect(older.map((m) => m.text)).toEqual(["m1", "m2", "m3", "m4"]);
    const forward = successValue<Message[]>(await room.history("hist", { after: 2, limit: 7 }));
    expect(forward.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7, 8, 9]);

    const reader = await roomSocket("mem-history", "hist");
    reader.send({ type: "subscribe", since: 3 });
    const resumed = [];
    for (let i = 0; i < 9; i++) resumed.push((await reader.next(ofType("message"))).seq);
    expect(resumed).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("closes a socket that never authenticates with 4001", async () => {
    await makeRoom("mem-silent", "sil");
    const silent = await openSocket("/v1/rooms/mem-silent/ws");
    await sleep(15_100);
    await runDurableObjectAlarm(roomStub("mem-silent").raw);
    expect((await silent.closed).code).toBe(4001);
  }, 25_000);

  it("answers unknown rooms with 404 everywhere", async () => {
    const res = await openSocket("/v1/rooms/no-such-room/ws", { token: await tokenFor("x") }).catch(
      (e: Error) => e,
    );
    expect(String(res)).toContain("404");
    expect(await roomStub("no-such-room-2").post(profile("x"), { temp_id: "t", text: "?" })).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    const user = await openSocket("/v1/ws", { token: await tokenFor("lost") });
    user.send({ type: "subscribe", room: "no-such-room-3", id: "s" });
    expect(await user.next(ofType("error"))).toMatchObject({ id: "s", code: "not_found" });
  });
});
