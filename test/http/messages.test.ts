import { beforeAll, describe, expect, it } from "vitest";
import { deepArrayText, nested } from "../helpers/deep-json";
import { call, uniqueId } from "./client";
import { createRoom, expectRefusal, flush, type Person, person, send } from "./fixtures";

describe("POST /v1/rooms/{id}/messages", () => {
  let owner: Person;
  let member: Person;
  let outsider: Person;
  let room: { key: string; number: number };
  beforeAll(async () => {
    owner = await person("send-owner");
    member = await person("send-member");
    outsider = await person("send-outsider");
    room = await createRoom(owner, { members: [member.id] });
  });

  const post = (who: Person, body: unknown, headers?: Record<string, string>, ref = room.key) =>
    call(`/v1/rooms/${ref}/messages`, { method: "POST", token: who.token, body, headers });

  it("sends a message with 201 and returns it with the room's epoch", async () => {
    const result = await post(owner, { text: "hello", temp_id: uniqueId("t"), data: { n: 1 } });
    expect(result.status, JSON.stringify(result.body)).toBe(201);
    expect(result.body.duplicate).toBe(false);
    expect(result.body.epoch).toEqual(expect.any(String));
    expect(result.body.message).toMatchObject({
      room: room.key,
      text: "hello",
      data: { n: 1 },
      sender: { id: owner.id },
      version: 1,
      reactions: [],
      deleted_at: null,
    });
    const history = await call(`/v1/rooms/${room.key}/messages`, { token: member.token });
    expect(history.body.messages.map((m: { id: string }) => m.id)).toContain(result.body.message.id);
  });

  it("answers a retry with the same temp_id with 200, duplicate and the first message, sending once", async () => {
    const temp_id = uniqueId("retry");
    const first = await post(member, { text: "once", temp_id });
    const again = await post(member, { text: "once, retried", temp_id });
    expect(first.status).toBe(201);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.message).toEqual(first.body.message);
    const history = await call(`/v1/rooms/${room.key}/messages?limit=100`, { token: owner.token });
    expect(history.body.messages.filter((m: { temp_id: string }) => m.temp_id === temp_id)).toHaveLength(1);
  });

  it("takes the key from the Idempotency-Key header, and refuses a temp_id that differs from it", async () => {
    const key = uniqueId("header");
    const first = await post(owner, { text: "keyed" }, { "idempotency-key": key });
    expect(first.status).toBe(201);
    expect(first.body.message.temp_id).toBe(key);
    const byBody = await post(owner, { text: "keyed", temp_id: key });
    expect(byBody.status).toBe(200);
    expect(byBody.body.message.id).toBe(first.body.message.id);
    const same = await post(owner, { text: "keyed", temp_id: key }, { "Idempotency-Key": key });
    expect(same.body).toMatchObject({ duplicate: true, message: { id: first.body.message.id } });
    expectRefusal(
      await post(owner, { text: "x", temp_id: uniqueId("a") }, { "idempotency-key": uniqueId("b") }),
      400,
      "bad_request",
    );
  });

  it("sends a new message on every call without a key", async () => {
    const a = await post(owner, { text: "unkeyed" });
    const b = await post(owner, { text: "unkeyed" });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.message.id).not.toBe(b.body.message.id);
  });

  it("keys are per sender: another user's same key is a new message", async () => {
    const temp_id = uniqueId("shared");
    const mine = await post(owner, { text: "mine", temp_id });
    const theirs = await post(member, { text: "theirs", temp_id });
    expect(theirs.status).toBe(201);
    expect(theirs.body.message.id).not.toBe(mine.body.message.id);
  });

  it("refuses oversize text with 413 and empty text or bad fields with 400", async () => {
    // The room's limit (MAX_MESSAGE_CHARS, 8000 by default) is the room object's configuration.
    const long = await post(owner, { text: "x".repeat(8001) });
    expectRefusal(long, 413, "payload_too_large");
    for (const body of [
      { text: "   " },
      {},
      { text: 5 },
      { text: "x", type: "shout" },
      { text: "x", temp_id: "" },
      { text: "x", temp_id: "t".repeat(129) },
      { text: "x", to: "a b" },
      { text: "x", parent_id: "not/an/id" },
      { text: "x", custom_type: "c".repeat(65) },
    ]) {
      expectRefusal(await post(owner, body), 400, "bad_request");
    }
    expectRefusal(
      await post(owner, { text: "x" }, { "idempotency-key": "k".repeat(129) }),
      400,
      "bad_request",
    );
  });

  it("refuses data nested too deep with 400 before it is stored", async () => {
    expectRefusal(await post(owner, { text: "deep", data: nested(33) }), 400, "bad_request");
    expectRefusal(await post(owner, `{"text":"deep","data":${deepArrayText(3400)}}`), 400, "bad_request");
    expect((await post(owner, { text: "deep enough", data: nested(32) })).status).toBe(201);
    const history = await call(`/v1/rooms/${room.key}/messages`, { token: owner.token });
    expect(history.status).toBe(200);
  });

  it("refuses a whisper to someone outside the room with 400", async () => {
    expectRefusal(await post(owner, { text: "psst", to: outsider.id }), 400, "bad_request");
    const whisper = await post(owner, { text: "psst", to: member.id });
    expect(whisper.status).toBe(201);
  });

  it("refuses a non-member with 403, an unknown room with 404 and a missing token with 401", async () => {
    expectRefusal(await post(outsider, { text: "let me in" }), 403, "forbidden");
    for (const ref of [uniqueId("none"), "987654321", "a%20b"]) {
      expectRefusal(await post(owner, { text: "anyone?" }, undefined, ref), 404, "not_found");
    }
    const anonymous = await call(`/v1/rooms/${room.key}/messages`, { method: "POST", body: { text: "hi" } });
    expectRefusal(anonymous, 401, "unauthorized");
  });

  it("names the room by its number too", async () => {
    const result = await post(member, { text: "by number" }, undefined, String(room.number));
    expect(result.status).toBe(201);
    expect(result.body.message.room).toBe(room.key);
  });
});

describe("PUT /v1/rooms/{id}/read", () => {
  it("moves my read marker to a seq or the head, never back, and the unread counts follow", async () => {
    const owner = await person("read-owner");
    const reader = await person("read-reader");
    const room = await createRoom(owner, { members: [reader.id] });
    const first = await send(room.key, owner, { text: "one" });
    await send(room.key, owner, { text: "two" });
    const last = await send(room.key, owner, { text: "three" });
    await flush(room.key);
    const me = async () => (await call("/v1/me", { token: reader.token })).body.total_unread;
    expect(await me()).toBe(3);

    const put = (body?: unknown) =>
      call(`/v1/rooms/${room.key}/read`, { method: "PUT", token: reader.token, body });
    const toFirst = await put({ seq: first.seq });
    expect(toFirst.status, JSON.stringify(toFirst.body)).toBe(200);
    expect(toFirst.body).toEqual({ seq: first.seq });
    await flush(room.key);
    expect(await me()).toBe(2);

    const toHead = await put();
    expect(toHead.body.seq).toBeGreaterThanOrEqual(last.seq);
    expect((await put({ seq: first.seq })).body.seq).toBe(toHead.body.seq);
    await flush(room.key);
    expect(await me()).toBe(0);
    const list = await call("/v1/rooms", { token: reader.token });
    expect(list.body.rooms[0].unread_count).toBe(0);

    expectRefusal(await put({ seq: -1 }), 400, "bad_request");
    expectRefusal(await put({ seq: "last" }), 400, "bad_request");
    const outsider = await person("read-outsider");
    expectRefusal(
      await call(`/v1/rooms/${room.key}/read`, { method: "PUT", token: outsider.token }),
      403,
      "forbidden",
    );
  });
});

describe("GET /v1/me total_unread", () => {
  it("sums the unread counts of my rooms, without my own messages or others' whispers", async () => {
    const alice = await person("total-alice");
    const bob = await person("total-bob");
    const carol = await person("total-carol");
    const one = await createRoom(alice, { members: [bob.id, carol.id] });
    const two = await createRoom(carol, { members: [bob.id] });
    await send(one.key, alice, { text: "a" });
    await send(one.key, alice, { text: "to carol only", to: carol.id });
    await send(one.key, bob, { text: "mine" });
    await send(two.key, carol, { text: "b" });
    await send(two.key, carol, { text: "c" });
    await flush(one.key);
    await flush(two.key);
    expect((await call("/v1/me", { token: bob.token })).body.total_unread).toBe(3);
    expect((await call("/v1/me", { token: carol.token })).body.total_unread).toBe(3);
  });
});

describe("GET /v1/rooms/{id}/messages", () => {
  it("refuses bad paging and threads with 400, outsiders with 403", async () => {
    const owner = await person("hist-owner");
    const outsider = await person("hist-outsider");
    const room = await createRoom(owner);
    for (const query of [
      "limit=0",
      "limit=101",
      "before=-1",
      "after=x",
      "thread=a/b",
      `thread=${"x".repeat(65)}`,
    ]) {
      expectRefusal(
        await call(`/v1/rooms/${room.key}/messages?${query}`, { token: owner.token }),
        400,
        "bad_request",
      );
    }
    expectRefusal(await call(`/v1/rooms/${room.key}/messages`, { token: outsider.token }), 403, "forbidden");
  });
});
