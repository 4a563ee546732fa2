import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directRoomKey } from "../../src/domain/ids";
import { profile, roomStub, sleep } from "../helpers/rooms";
import { openSocket, type TestSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

const has = (key: string) => (m: Record<string, unknown>) => key in m;
const reply = (id: string) => (m: Record<string, unknown>) => m.id === id;

async function harajClient(userId: string): Promise<TestSocket> {
  const socket = await openSocket("/chat/ws");
  socket.send({
    auth: { id: "authenticate socket", access_token: await tokenFor(userId, { name: `name${userId}` }) },
  });
  const answer = await socket.next(reply("authenticate socket"));
  expect(answer).toMatchObject({ status: 200, data: { user_id: Number(userId) } });
  expect(answer.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return socket;
}

/** A direct room both users opened, so each accepted it (presence between them needs that). */
async function directRoom(a: string, b: string) {
  const key = directRoomKey(a, b);
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    await roomStub(key).create({
      key,
      kind: "direct",
      creator: profile(from as string),
      members: [{ profile: profile(to as string), role: "member" }],
    });
  }
  return key;
}

describe("Haraj socket at /chat/ws", () => {
  it("streams nothing before auth and refuses a bad token with 401", async () => {
    const socket = await openSocket("/chat/ws");
    socket.send({ auth: { id: "a", access_token: "wrong" } });
    expect(await socket.next(reply("a"))).toMatchObject({ status: 401, err: "ERR_INVALID_ACCESS_TOKEN" });
    expect(socket.received).toHaveLength(1);
  });

  it("watches a direct-room peer across two devices and refuses strangers", async () => {
    await directRoom("11", "12");
    const me = await harajClient("11");
    me.send({ listen: { id: "listen peer 12", peer_id: 12 } });
    expect(await me.next(reply("listen peer 12"))).toMatchObject({
      status: 200,
      data: { user_id: 11, peer_id: 12, is_online: false },
    });
    const phone = await harajClient("12");
    expect(await me.next(has("pres"))).toMatchObject({ pres: { what: "online", from_id: 12 } });
    const tablet = await harajClient("12");
    phone.close();
    await sleep(200);
    expect(me.received.filter((m) => typeof m === "object" && m !== null && "pres" in m)).toHaveLength(1);
    tablet.close();
    expect(await me.next(has("pres"))).toMatchObject({ pres: { what: "offline", from_id: 12 } });
    me.send({ listen: { id: "listen stranger", peer_id: 99 } });
    expect(await me.next(reply("listen stranger"))).toMatchObject({
      status: 403,
      err: "ERR_FORBIDDEN_ACCESS",
    });
  });

  it("delivers message, typing and reads packets field by field", async () => {
    const sender = await harajClient("21");
    const receiver = await harajClient("22");
    sender.send({ send: { id: "s1", topic_id: "p2p21_22", text: "hello!", temp_id: "t1" } });
    expect(await sender.next(reply("s1"))).toMatchObject({
      status: 200,
      data: { topic_id: "p2p21_22", seq_id: 1 },
    });
    const packet = await receiver.next(has("message"));
    expect(packet).toEqual({
      message: {
        topic_id: "p2p21_22",
        seq_id: 1,
        from_id: 21,
        name: "name21",
        content: { type: "text/plain", payload: { text: "hello!" } },
        status: { "22": false },
        ts: expect.stringMatching(/Z$/),
      },
    });
    sender.send({ typing: { id: "ty", topic_id: "p2p21_22" } });
    expect(await receiver.next(has("pres"))).toMatchObject({
      pres: { what: "typing", from_id: 21, topic_id: "p2p21_22" },
    });
    receiver.send({ read: { id: "r", topic_id: "p2p21_22", seq_id: 1 } });
    expect(await sender.next(has("reads"))).toMatchObject({
      reads: { from_id: 22, topic_id: "p2p21_22", seq_ids: [1] },
    });
  });

  it("answers malformed commands with 400 and stays usable", async () => {
    const socket = await harajClient("31");
    socket.send("not json");
    expect(await socket.next((m) => m.status === 400)).toMatchObject({ err: "ERR_BAD_REQUEST" });
    socket.send({ fly: { id: "f" } });
    expect(await socket.next(reply("f"))).toMatchObject({ status: 400 });
    socket.send({ send: { id: "x", topic_id: "p2p1_2", text: "not mine" } });
    expect(await socket.next(reply("x"))).toMatchObject({ status: 403 });
  });

  it("sends through HTTP to the same room, reaching socket clients", async () => {
    const receiver = await harajClient("42");
    const res = await SELF.fetch("https://parley.test/chat/messages", {
      method: "POST",
      headers: { authorization: `Bearer ${await tokenFor("41")}`, "content-type": "application/json" },
      body: JSON.stringify({ topic_id: "p2p41_42", text: "via http", temp_id: "h1" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 200, data: { topic_id: "p2p41_42", seq_id: 1 } });
    expect(await receiver.next(has("message"))).toMatchObject({
      message: { from_id: 41, content: { payload: { text: "via http" } } },
    });
    const denied = await SELF.fetch("https://parley.test/chat/messages", {
      method: "POST",
      headers: { authorization: "Bearer nope", "content-type": "application/json" },
      body: "{}",
    });
    expect(denied.status).toBe(401);
  });
});
