import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directRoomKey } from "../../src/domain/ids";
import type { Message } from "../../src/domain/model";
import { makeRoom, profile, roomStub, sleep, successValue } from "../helpers/rooms";
import { ofType, openSocket, type TestSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

async function userSocket(userId: string): Promise<TestSocket> {
  return openSocket("/v1/ws", { token: await tokenFor(userId, { name: `User ${userId}` }) });
}

describe("user-scoped native socket", () => {
  it("delivers a room's messages to every device of a subscribed user, in order", async () => {
    await makeRoom("us-1", "ann", ["ben"]);
    const phone = await userSocket("ben");
    const laptop = await userSocket("ben");
    phone.send({ type: "subscribe", room: "us-1" });
    laptop.send({ type: "subscribe", room: "us-1" });
    await phone.next(ofType("subscribed"));
    await laptop.next(ofType("subscribed"));
    const ann = await openSocket("/v1/rooms/us-1/ws", { token: await tokenFor("ann") });
    for (let i = 1; i <= 3; i++) ann.send({ type: "send", temp_id: `a${i}`, text: `hi ${i}` });
    for (const device of [phone, laptop]) {
      const seqs = [];
      for (let i = 0; i < 3; i++) seqs.push(((await device.next(ofType("message"))) as { seq: number }).seq);
      expect(seqs).toEqual([1, 2, 3]);
    }
  });

  it("sends from the user socket and acks after storage", async () => {
    await makeRoom("us-2", "ann", ["ben"]);
    const ben = await userSocket("ben");
    ben.send({ type: "subscribe", room: "us-2", id: "s" });
    await ben.next(ofType("subscribed"));
    ben.send({ type: "send", room: "us-2", temp_id: "b1", text: "yo" });
    const ack = await ben.next(ofType("ack"));
    expect(ack).toMatchObject({ temp_id: "b1", room: "us-2", seq: 1 });
    const stored = await roomStub("us-2").history("ann", { limit: 10 });
    expect(successValue<Message[]>(stored).map((m) => m.text)).toEqual(["yo"]);
  });

  it("gives inbox updates for rooms the user did not subscribe to", async () => {
    const room = await makeRoom("us-3", "ann", ["hal"]);
    const hal = await userSocket("hal");
    await sleep(100);
    await room.post(profile("ann"), { temp_id: "x1", text: "ping" });
    const inbox = await hal.next((m) => m.type === "inbox" && m.room === "us-3");
    expect(inbox).toMatchObject({ room: "us-3", unread: 1, last_message: { text: "ping" } });
  });

  it("resumes after the room object is evicted, with no gap and no duplicate", async () => {
    const room = await makeRoom("us-4", "ann", ["ben"]);
    for (let i = 1; i <= 3; i++) await room.post(profile("ann"), { temp_id: `e${i}`, text: `m${i}` });
    await evictDurableObject(room.raw);
    const ben = await userSocket("ben");
    ben.send({ type: "subscribe", room: "us-4", since: 1 });
    const first = [await ben.next(ofType("message")), await ben.next(ofType("message"))];
    expect(first.map((m) => m.seq)).toEqual([2, 3]);
    await ben.next(ofType("subscribed"));
    await roomStub("us-4").post(profile("ann"), { temp_id: "e4", text: "m4" });
    expect(await ben.next(ofType("message"))).toMatchObject({ seq: 4 });
    await sleep(100);
    expect(ben.received.filter((m) => (m as { type: string }).type === "message")).toHaveLength(3);
  });

  it("keeps a user online until the last device closes, visible only to direct-room peers", async () => {
    const key = directRoomKey("cat", "dan");
    const created = await roomStub(key).create({
      key,
      kind: "direct",
      creator: profile("cat"),
      members: [{ profile: profile("dan"), role: "member" }],
    });
    expect(created.ok).toBe(true);
    const cat = await userSocket("cat");
    // Cat opened the room; dan has not accepted it yet, so dan's presence stays hidden.
    cat.send({ type: "watch", id: "w0", user: "dan" });
    expect(await cat.next(ofType("error"))).toMatchObject({ id: "w0", code: "forbidden" });
    const accepted = await roomStub(key).create({
      key,
      kind: "direct",
      creator: profile("dan"),
      members: [{ profile: profile("cat"), role: "member" }],
    });
    expect(accepted).toMatchObject({ ok: true, value: { created: false } });
    cat.send({ type: "watch", id: "w", user: "dan" });
    expect(await cat.next(ofType("watching"))).toMatchObject({ user: "dan", online: false });
    const d1 = await userSocket("dan");
    expect(await cat.next(ofType("presence"))).toMatchObject({ user_id: "dan", online: true });
    const d2 = await userSocket("dan");
    d1.close();
    await sleep(200);
    expect(cat.received.filter((m) => (m as { type: string }).type === "presence")).toHaveLength(1);
    d2.close();
    expect(await cat.next(ofType("presence"))).toMatchObject({ user_id: "dan", online: false });

    const stranger = await userSocket("eve");
    stranger.send({ type: "watch", id: "w2", user: "dan" });
    expect(await stranger.next(ofType("error"))).toMatchObject({ id: "w2", code: "forbidden" });

    // A reply is consent too: eve opens a direct room with dan, who answers in it.
    stranger.send({ type: "dm", id: "d1", to: "dan", temp_id: "hi-dan", text: "hi" });
    await stranger.next(ofType("ack"));
    stranger.send({ type: "watch", id: "w3", user: "dan" });
    expect(await stranger.next(ofType("error"))).toMatchObject({ id: "w3", code: "forbidden" });
    await roomStub(directRoomKey("dan", "eve")).post(profile("dan"), { temp_id: "hi-eve", text: "hello" });
    stranger.send({ type: "watch", id: "w4", user: "dan" });
    expect(await stranger.next(ofType("watching"))).toMatchObject({ id: "w4", user: "dan" });
  });

  it("authenticates in the first frame when the URL carries no token", async () => {
    await makeRoom("us-6", "ann", ["fay"]);
    const fay = await openSocket("/v1/ws");
    fay.send({ type: "auth", token: await tokenFor("fay") });
    expect(await fay.next(ofType("welcome"))).toMatchObject({ user: { id: "fay" } });
    fay.send({ type: "subscribe", room: "us-6", id: "s" });
    expect(await fay.next(ofType("subscribed"))).toMatchObject({ room: "us-6" });

    const bad = await openSocket("/v1/ws");
    bad.send({ type: "auth", token: "garbage" });
    expect(await bad.next(ofType("error"))).toMatchObject({ code: "invalid_token" });
    expect((await bad.closed).code).toBe(4002);

    const early = await openSocket("/v1/ws");
    early.send({ type: "subscribe", room: "us-6" });
    expect((await early.closed).code).toBe(4001);
  });

  it("refuses subscribing to a room the user is not in", async () => {
    await makeRoom("us-7", "ann");
    const gus = await userSocket("gus");
    gus.send({ type: "subscribe", room: "us-7", id: "s" });
    expect(await gus.next(ofType("error"))).toMatchObject({ id: "s", code: "forbidden" });
    gus.send({ type: "send", room: "us-7", temp_id: "g", text: "let me in" });
    expect(await gus.next(ofType("error"))).toMatchObject({ temp_id: "g", code: "forbidden" });
  });

  it("flushes the outbox to D1", async () => {
    const room = await makeRoom("us-8", "ann");
    await room.post(profile("ann"), { temp_id: "d1", text: "durable" });
    await runDurableObjectAlarm(room.raw);
    const row = await env.DB.prepare(
      "SELECT m.text, r.last_message_seq FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.key = ?",
    )
      .bind("us-8")
      .first();
    expect(row).toMatchObject({ text: "durable", last_message_seq: 1 });
  });
});

describe("room membership on the user socket", () => {
  it("tells an online user they were added to a room, and then delivers its inbox updates", async () => {
    const room = await makeRoom("us-added", "ann");
    const ivo = await userSocket("ivo");
    expect(
      successValue(await room.addMembers("ann", [{ profile: profile("ivo"), role: "member" }])),
    ).toHaveLength(1);
    expect(await ivo.next(ofType("room_added"))).toMatchObject({ room: "us-added" });
    await room.post(profile("ann"), { temp_id: "welcome", text: "welcome ivo" });
    expect(await ivo.next((m) => m.type === "inbox" && m.room === "us-added")).toMatchObject({ unread: 1 });
    await Promise.all(["two", "three"].map((text) => room.post(profile("ann"), { temp_id: text, text })));
    const counted = await ivo.next((m) => m.type === "inbox" && m.room === "us-added" && m.unread === 3);
    expect(counted).toMatchObject({ last_message: { text: "three" } });
    await room.markRead("ivo", 4);
    expect(
      await ivo.next((m) => m.type === "inbox" && m.room === "us-added" && m.unread === 0),
    ).toMatchObject({
      last_message: { text: "three" },
    });
  });
});

describe("outbox to D1", () => {
  it("keeps unflushed messages through a failed flush and writes them once D1 accepts them", async () => {
    const room = await makeRoom("us-retry", "ann");
    const row = await env.DB.prepare("SELECT * FROM rooms WHERE key = ?")
      .bind("us-retry")
      .first<Record<string, unknown>>();
    await env.DB.prepare("DELETE FROM rooms WHERE key = ?").bind("us-retry").run();
    await room.post(profile("ann"), { temp_id: "r1", text: "survives" });
    await runDurableObjectAlarm(room.raw);
    const lost = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE text = 'survives'").first<{
      n: number;
    }>();
    expect(lost?.n).toBe(0);
    const columns = Object.keys(row ?? {});
    await env.DB.prepare(
      `INSERT INTO rooms (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    )
      .bind(...columns.map((c) => row?.[c] ?? null))
      .run();
    await sleep(1100);
    await runDurableObjectAlarm(room.raw);
    const stored = await env.DB.prepare("SELECT seq FROM messages WHERE text = 'survives'").first<{
      seq: number;
    }>();
    expect(stored?.seq).toBe(1);
  });
});
