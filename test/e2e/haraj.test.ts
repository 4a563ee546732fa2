import { afterEach, describe, expect, it } from "vitest";
import { api, baseUrl, devToken } from "./client";
import { type Json, nativeRoomSocket, ofType, openWire, type Wire } from "./wire";

/**
 * Seed 001 (Haraj P2P chat) against `wrangler dev`, with plain WebSockets and a client written from the seed:
 * `{"<command>": {"id", ...}}` in, replies echoing the id and server packets out, user ids as numbers.
 */

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const open: Wire<Json>[] = [];

afterEach(() => {
  for (const wire of open.splice(0)) wire.ws.close();
});

/** All-digit user ids, unique in the run; `digits` lets a test make ids whose text and numeric orders differ. */
let counter = 0;
const runBase = 1000 + Math.floor(Math.random() * 8000);
function numericUser(digits = 10): string {
  counter += 1;
  return `${runBase}${String(counter).padStart(digits - 4, "0")}`;
}

interface HarajUser {
  id: string;
  name: string;
  token: string;
}

async function harajUser(id = numericUser(), named = true): Promise<HarajUser> {
  const name = `seller_${id}`;
  return { id, name: named ? name : id, token: await devToken(id, named ? { name } : {}) };
}

/** A direct room both users opened, so each accepted it (presence between them needs that). */
async function directRoom(a: HarajUser, b: HarajUser): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const made = await api("POST", "/v1/direct", from.token, { user_id: to.id });
    expect([200, 201]).toContain(made.status);
  }
}

const topicOf = (a: HarajUser, b: HarajUser) =>
  BigInt(a.id) < BigInt(b.id) ? `p2p${a.id}_${b.id}` : `p2p${b.id}_${a.id}`;

async function socket(): Promise<Wire<Json>> {
  const wire = openWire<Json>("/chat/ws", (text) => [JSON.parse(text) as Json]);
  open.push(wire);
  await wire.opened;
  return wire;
}

const reply = (id: string) => (p: Json) => p.id === id;
const has = (key: string) => (p: Json) => key in p;
const pres = (what: string) => (p: Json) => (p.pres as Json | undefined)?.what === what;

async function authed(user: HarajUser): Promise<Wire<Json>> {
  const wire = await socket();
  wire.send({ auth: { id: "authenticate socket", access_token: user.token } });
  expect(await wire.inbox.next(reply("authenticate socket"))).toMatchObject({ status: 200 });
  return wire;
}

/** One of Parley's Haraj HTTP endpoints; `body` is the socket command's body, or raw text. */
async function post(
  path: string,
  token: string | null,
  body: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${baseUrl()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const badRequest = (id?: string) => ({
  ...(id === undefined ? {} : { id }),
  status: 400,
  err: "ERR_BAD_REQUEST",
  ts: expect.stringMatching(ISO_MS),
});

describe("Haraj (seed 001) at /chat/ws against wrangler dev", () => {
  it("authenticates with the documented replies; a refused token leaves the socket open for another try", async () => {
    const me = await harajUser();
    const wire = await socket();
    wire.send({ auth: { id: "authenticate socket", access_token: `${me.token}x` } });
    expect(await wire.inbox.next()).toEqual({
      id: "authenticate socket",
      status: 401,
      err: "ERR_INVALID_ACCESS_TOKEN",
      ts: expect.stringMatching(ISO_MS),
    });
    wire.send({ auth: { id: "expired", access_token: await devToken(me.id, { exp: 1_000_000 }) } });
    expect(await wire.inbox.next()).toMatchObject({
      id: "expired",
      status: 401,
      err: "ERR_INVALID_ACCESS_TOKEN",
    });

    wire.send({ auth: { id: "authenticate socket", access_token: me.token } });
    const ok = await wire.inbox.next();
    expect(ok).toEqual({
      id: "authenticate socket",
      status: 200,
      data: { user_id: Number(me.id) },
      ts: expect.stringMatching(ISO_MS),
    });
    expect(Math.abs(Date.parse(ok.ts as string) - Date.now())).toBeLessThan(60_000);

    wire.send({ auth: { id: "again", access_token: me.token } });
    expect(await wire.inbox.next()).toEqual(badRequest("again"));
  });

  it("streams nothing before auth: other commands get 401 and are not run", async () => {
    const [me, peer] = [await harajUser(), await harajUser()];
    await directRoom(peer, me);
    const wire = await socket();
    wire.send({ listen: { id: "too early", peer_id: Number(peer.id) } });
    expect(await wire.inbox.next()).toEqual({
      id: "too early",
      status: 401,
      err: "ERR_INVALID_ACCESS_TOKEN",
      ts: expect.stringMatching(ISO_MS),
    });
    wire.send("{not json");
    expect(await wire.inbox.next()).toEqual(badRequest());

    const topic = topicOf(me, peer);
    expect(
      (await post("/chat/messages", peer.token, { topic_id: topic, text: "while you were away" })).status,
    ).toBe(200);
    expect((await post("/chat/typing", peer.token, { topic_id: topic })).status).toBe(200);

    wire.send({ auth: { id: "now", access_token: me.token } });
    await wire.inbox.next(reply("now"));
    expect(
      (await post("/chat/messages", peer.token, { topic_id: topic, text: "now you see it" })).status,
    ).toBe(200);
    const packet = await wire.inbox.next(has("message"));
    expect((packet.message as Json).content).toEqual({
      type: "text/plain",
      payload: { text: "now you see it" },
    });
    // The peer's message ends its typing: that stop_typing is live, the earlier typing and message are not.
    expect(wire.inbox.items.map(label)).toEqual([
      "too early",
      "status 400",
      "now",
      "pres stop_typing",
      "message",
    ]);

    // The listen refused before auth was not run: the peer's presence reaches nobody.
    const peerWire = await authed(peer);
    peerWire.ws.close();
    wire.send({ listen: { id: "listen now", peer_id: Number(peer.id) } });
    const until = await wire.inbox.until(reply("listen now"));
    expect(until.filter(has("pres"))).toEqual([]);
  });

  it("lets a user listen only to peers it has a direct room with", async () => {
    const [me, peer, stranger, colleague] = await Promise.all([
      harajUser(),
      harajUser(),
      harajUser(),
      harajUser(),
    ]);
    await directRoom(me, peer);
    const group = await api("POST", "/v1/rooms", me.token, { kind: "group", members: [colleague.id] });
    expect(group.status).toBe(201);
    const wire = await authed(me);

    wire.send({ listen: { id: "listen peer", peer_id: Number(peer.id) } });
    expect(await wire.inbox.next(reply("listen peer"))).toEqual({
      id: "listen peer",
      status: 200,
      data: { user_id: Number(me.id), peer_id: Number(peer.id), is_online: false },
      ts: expect.stringMatching(ISO_MS),
    });

    const forbidden = (id: string) => ({
      id,
      status: 403,
      err: "ERR_FORBIDDEN_ACCESS",
      ts: expect.stringMatching(ISO_MS),
    });
    for (const [id, peerId] of [
      ["stranger", Number(stranger.id)],
      ["group colleague", Number(colleague.id)],
      ["myself", Number(me.id)],
    ] as const) {
      wire.send({ listen: { id, peer_id: peerId } });
      expect(await wire.inbox.next(reply(id))).toEqual(forbidden(id));
    }
    wire.send({ unlisten: { id: "unlisten stranger", peer_id: Number(stranger.id) } });
    expect(await wire.inbox.next(reply("unlisten stranger"))).toEqual(forbidden("unlisten stranger"));

    const peerWire = await authed(peer);
    expect(await wire.inbox.next(has("pres"))).toEqual({
      pres: { what: "online", from_id: Number(peer.id), ts: expect.stringMatching(ISO_MS) },
    });
    wire.send({ listen: { id: "as text", peer_id: peer.id } });
    expect(await wire.inbox.next(reply("as text"))).toMatchObject({
      status: 200,
      data: { peer_id: Number(peer.id), is_online: true },
    });

    wire.send({ unlisten: { id: "unlisten peer", peer_id: Number(peer.id) } });
    expect(await wire.inbox.next(reply("unlisten peer"))).toEqual({
      id: "unlisten peer",
      status: 200,
      data: { user_id: Number(me.id), peer_id: Number(peer.id) },
      ts: expect.stringMatching(ISO_MS),
    });
    const witness = await authedListener(peer);
    peerWire.ws.close();
    await witness.inbox.next(pres("offline"));
    wire.send({ listen: { id: "listen again", peer_id: Number(peer.id) } });
    const passed = await wire.inbox.until(reply("listen again"));
    expect(passed.filter(has("pres"))).toEqual([]);
    expect(passed.at(-1)).toMatchObject({ data: { is_online: false } });
  });

  it("keeps a peer online until its last device closes, on every device of the listener", async () => {
    const [me, peer] = [await harajUser(), await harajUser()];
    await directRoom(me, peer);
    const [phone, tablet] = [await authed(me), await authed(me)];
    for (const device of [phone, tablet]) {
      device.send({ listen: { id: "listen", peer_id: Number(peer.id) } });
      expect(await device.inbox.next(reply("listen"))).toMatchObject({ data: { is_online: false } });
    }
    const peerPhone = await authed(peer);
    for (const device of [phone, tablet])
      expect(await device.inbox.next(has("pres"))).toMatchObject(online(peer));
    const peerLaptop = await authed(peer);
    peerPhone.ws.close();
    await peerPhone.closed;

    // The first device's close changes nothing: no packet, and the peer still counts as online.
    for (let i = 0; i < 4; i++) {
      tablet.send({ listen: { id: `still ${i}`, peer_id: Number(peer.id) } });
      expect(await tablet.inbox.next(reply(`still ${i}`))).toMatchObject({ data: { is_online: true } });
    }
    // One of my devices leaving keeps the other listening.
    phone.ws.close();
    peerLaptop.ws.close();
    await tablet.inbox.next(pres("offline"));
    await authed(peer);
    await tablet.inbox.next(pres("online"));
    expect(tablet.inbox.items.filter(has("pres"))).toEqual([
      online(peer),
      { pres: { what: "offline", from_id: Number(peer.id), ts: expect.stringMatching(ISO_MS) } },
      online(peer),
    ]);
  });

  it("delivers message, reads and typing packets field by field, with numeric ids in numeric order", async () => {
    // 7 digits against 11: the text order of the ids is the reverse of their numeric order.
    const low = await harajUser(numericUser(7).replace(/^\d/, "9"));
    const high = await harajUser(`1${numericUser(10)}`);
    const topic = `p2p${low.id}_${high.id}`;
    const [lowWire, highWire] = [await authed(low), await authed(high)];

    highWire.send({ send: { id: "send hello", topic_id: topic, text: "hello!", temp_id: "c1f4e0a2" } });
    const sent = await highWire.inbox.next(reply("send hello"));
    expect(sent).toEqual({
      id: "send hello",
      status: 200,
      data: { topic_id: topic, seq_id: 1, temp_id: "c1f4e0a2", ts: expect.stringMatching(ISO_MS) },
      ts: expect.stringMatching(ISO_MS),
    });
    const packet = await lowWire.inbox.next(has("message"));
    expect(packet).toEqual({
      message: {
        topic_id: topic,
        seq_id: 1,
        from_id: Number(high.id),
        name: high.name,
        content: { type: "text/plain", payload: { text: "hello!" } },
        status: { [low.id]: false },
        ts: (sent.data as Json).ts,
      },
    });

    lowWire.send({ typing: { id: "typing", topic_id: topic } });
    expect(await lowWire.inbox.next(reply("typing"))).toEqual({
      id: "typing",
      status: 200,
      data: { topic_id: topic },
      ts: expect.stringMatching(ISO_MS),
    });
    // The sender's own message never came back to it: the typing packet is the first packet it gets.
    const beforeTyping = await highWire.inbox.until(has("pres"));
    expect(beforeTyping.filter(has("message"))).toEqual([]);
    expect(beforeTyping.at(-1)).toEqual({
      pres: { what: "typing", from_id: Number(low.id), topic_id: topic, ts: expect.stringMatching(ISO_MS) },
    });
    lowWire.send({ stop_typing: { id: "stop", topic_id: topic } });
    expect(await highWire.inbox.next(has("pres"))).toEqual({
      pres: {
        from_id: Number(low.id),
        what: "stop_typing",
        topic_id: topic,
        ts: expect.stringMatching(ISO_MS),
      },
    });

    highWire.send({ send: { id: "two", topic_id: topic, text: "second" } });
    highWire.send({ send: { id: "three", topic_id: topic, text: "third" } });
    expect((await highWire.inbox.next(reply("three"))).data).toMatchObject({ seq_id: 3 });
    expect(((await lowWire.inbox.next(has("message"))).message as Json).seq_id).toBe(2);
    expect(((await lowWire.inbox.next(has("message"))).message as Json).seq_id).toBe(3);

    lowWire.send({ read: { id: "read one", topic_id: topic, seq_id: 1 } });
    expect(await lowWire.inbox.next(reply("read one"))).toEqual({
      id: "read one",
      status: 200,
      data: { topic_id: topic, seq_id: 1 },
      ts: expect.stringMatching(ISO_MS),
    });
    expect(await highWire.inbox.next(has("reads"))).toEqual({
      reads: { from_id: Number(low.id), topic_id: topic, seq_ids: [1], ts: expect.stringMatching(ISO_MS) },
    });
    lowWire.send({ read: { id: "read all", topic_id: topic, seq_id: 3 } });
    expect((await highWire.inbox.next(has("reads"))).reads).toMatchObject({ seq_ids: [2, 3] });
    // The reader's own reads never come back to it: the next message it gets has no reads packet before it.
    highWire.send({ send: { id: "four", topic_id: topic, text: "after the reads" } });
    const beforeFour = await lowWire.inbox.until(has("message"));
    expect(beforeFour.filter(has("reads"))).toEqual([]);
  });

  it("names a sender without a display name by its id", async () => {
    const [anon, reader] = [await harajUser(numericUser(), false), await harajUser()];
    const wire = await authed(reader);
    const sent = await post("/chat/messages", anon.token, { topic_id: topicOf(anon, reader), text: "hi" });
    expect(sent.status).toBe(200);
    expect(((await wire.inbox.next(has("message"))).message as Json).name).toBe(anon.id);
  });

  it("answers every malformed command with 400, echoing the id only when one is readable, and stays usable", async () => {
    const [me, peer] = [await harajUser(), await harajUser()];
    await directRoom(me, peer);
    const topic = topicOf(me, peer);
    const wire = await authed(me);
    const peerId = Number(peer.id);
    const cases: [string, unknown, string | undefined][] = [
      ["not JSON", "{not json", undefined],
      ["an array", [], undefined],
      ["a number", 42, undefined],
      ["null", null, undefined],
      ["a string", '"listen"', undefined],
      ["no command", {}, undefined],
      [
        "two commands",
        { listen: { id: "2", peer_id: peerId }, unlisten: { id: "2", peer_id: peerId } },
        undefined,
      ],
      ["unknown command", { fly: { id: "fly" } }, "fly"],
      ["a body that is not an object", { listen: "x" }, undefined],
      ["no id", { listen: { peer_id: peerId } }, undefined],
      ["an empty id", { listen: { id: "", peer_id: peerId } }, undefined],
      ["a numeric id", { listen: { id: 5, peer_id: peerId } }, undefined],
      ["an id over 256 characters", { listen: { id: "i".repeat(257), peer_id: peerId } }, undefined],
      ["no peer_id", { listen: { id: "no peer" } }, "no peer"],
      ["a negative peer_id", { listen: { id: "negative", peer_id: -1 } }, "negative"],
      ["a fractional peer_id", { listen: { id: "fraction", peer_id: 1.5 } }, "fraction"],
      ["a peer_id that is no number", { unlisten: { id: "alpha", peer_id: "abc" } }, "alpha"],
      ["an object peer_id", { listen: { id: "object", peer_id: {} } }, "object"],
      ["no text", { send: { id: "no text", topic_id: topic } }, "no text"],
      ["a numeric text", { send: { id: "numeric text", topic_id: topic, text: 5 } }, "numeric text"],
      ["an empty text", { send: { id: "empty text", topic_id: topic, text: "" } }, "empty text"],
      [
        "a text too long",
        { send: { id: "long text", topic_id: topic, text: "x".repeat(8001) } },
        "long text",
      ],
      ["an empty temp_id", { send: { id: "temp", topic_id: topic, text: "x", temp_id: "" } }, "temp"],
      ["a topic that is no topic", { send: { id: "room", topic_id: "room-1", text: "x" } }, "room"],
      ["a topic in text order", { typing: { id: "reversed", topic_id: reversed(topic) } }, "reversed"],
      ["a numeric topic", { stop_typing: { id: "numeric topic", topic_id: 12 } }, "numeric topic"],
      ["no topic", { typing: { id: "no topic" } }, "no topic"],
      ["no seq_id", { read: { id: "no seq", topic_id: topic } }, "no seq"],
      ["a negative seq_id", { read: { id: "negative seq", topic_id: topic, seq_id: -1 } }, "negative seq"],
      ["a fractional seq_id", { read: { id: "fraction seq", topic_id: topic, seq_id: 1.5 } }, "fraction seq"],
      ["a textual seq_id", { read: { id: "text seq", topic_id: topic, seq_id: "1" } }, "text seq"],
      ["an empty access token", { auth: { id: "empty token", access_token: "" } }, "empty token"],
      [
        "a frame over 64 KiB",
        { listen: { id: "huge", peer_id: peerId, pad: "p".repeat(70_000) } },
        undefined,
      ],
    ];
    for (const [what, frame, id] of cases) {
      wire.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      expect(await wire.inbox.next(), what).toEqual(badRequest(id));
    }
    wire.send(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(await wire.inbox.next(), "binary that is not UTF-8").toEqual(badRequest());

    wire.send({ listen: { id: "still usable", peer_id: peerId, extra: "ignored" } });
    expect(await wire.inbox.next()).toMatchObject({ id: "still usable", status: 200 });
    wire.send({ send: { id: "not mine", topic_id: `p2p1_${peer.id}`, text: "x" } });
    expect(await wire.inbox.next()).toMatchObject({
      id: "not mine",
      status: 403,
      err: "ERR_FORBIDDEN_ACCESS",
    });
    expect(wire.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("sends through HTTP to a socket client and a native client of the same direct room, in order", async () => {
    const [seller, buyer] = [await harajUser(), await harajUser()];
    const topic = topicOf(seller, buyer);
    const room = `dm:${topic.slice(3).replace("_", ":")}`;
    const first = await post("/chat/messages", seller.token, {
      id: "opening",
      topic_id: topic,
      text: "m1",
      temp_id: "t1",
    });
    expect(first).toEqual({
      status: 200,
      body: {
        id: "opening",
        status: 200,
        data: { topic_id: topic, seq_id: 1, temp_id: "t1", ts: expect.stringMatching(ISO_MS) },
        ts: expect.stringMatching(ISO_MS),
      },
    });

    const buyerWire = await authed(buyer);
    const native = await nativeRoomSocket(room, seller.token);
    open.push(native);

    // HTTP and socket sends interleaved: m2, m3, the buyer's reply, m4 take seq 2 to 5.
    const texts: string[] = [];
    for (const text of ["m2", "m3", "buyer reply", "m4"]) {
      if (text === "buyer reply") {
        buyerWire.send({ send: { id: "reply", topic_id: topic, text } });
        expect((await buyerWire.inbox.next(reply("reply"))).data).toMatchObject({ seq_id: 4 });
      } else {
        const sent = await post("/chat/messages", seller.token, { topic_id: topic, text });
        expect(sent.body.data).toMatchObject({ seq_id: texts.length + 2 });
      }
      texts.push(text);
    }
    const burst = await Promise.all(
      ["b1", "b2", "b3"].map((text) => post("/chat/messages", seller.token, { topic_id: topic, text })),
    );
    const burstSeqs = burst.map((r) => (r.body.data as Json).seq_id as number);
    expect([...burstSeqs].sort((a, b) => a - b)).toEqual([6, 7, 8]);

    const nativeSeen: Json[] = [];
    while (nativeSeen.length < 7)
      nativeSeen.push((await native.inbox.next(ofType("message"))).message as Json);
    expect(nativeSeen.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(nativeSeen.slice(0, 4).map((m) => m.text)).toEqual(texts);
    const bySeq = new Map(nativeSeen.map((m) => [m.seq, m.text]));
    burst.forEach((r, i) => {
      expect(bySeq.get((r.body.data as Json).seq_id)).toBe(`b${i + 1}`);
    });

    const buyerMessages = () => buyerWire.inbox.items.filter(has("message")).map((p) => p.message as Json);
    await expect.poll(() => buyerMessages().length, { timeout: 5000 }).toBe(6);
    const buyerSeen = buyerMessages();
    expect(buyerSeen.map((m) => m.seq_id)).toEqual([2, 3, 5, 6, 7, 8]);
    expect(buyerSeen.map((m) => (m.content as { payload: { text: string } }).payload.text)).toEqual(
      nativeSeen.filter((m) => m.text !== "buyer reply").map((m) => m.text),
    );

    await buyerWire.inbox.next((p) => (p.message as Json | undefined)?.seq_id === 8);
    const again = await post("/chat/messages", seller.token, { topic_id: topic, text: "m1", temp_id: "t1" });
    expect(again.body.data).toMatchObject({ seq_id: 1, temp_id: "t1" });

    expect(await post("/chat/typing", seller.token, { topic_id: topic })).toMatchObject({
      status: 200,
      body: { status: 200, data: { topic_id: topic } },
    });
    const typing = await buyerWire.inbox.until(has("pres"));
    expect(typing.filter(has("message"))).toEqual([]);
    expect(typing.at(-1)?.pres).toMatchObject({
      what: "typing",
      from_id: Number(seller.id),
      topic_id: topic,
    });
    expect(await native.inbox.next(ofType("typing"))).toMatchObject({
      typing: true,
      user: { id: seller.id },
    });
    expect((await post("/chat/stop_typing", seller.token, { topic_id: topic })).status).toBe(200);
    expect((await buyerWire.inbox.next(has("pres"))).pres).toMatchObject({ what: "stop_typing" });

    const read = await post("/chat/reads", seller.token, { topic_id: topic, seq_id: 8 });
    expect(read.body).toMatchObject({ status: 200, data: { topic_id: topic, seq_id: 8 } });
    expect((await buyerWire.inbox.next(has("reads"))).reads).toEqual({
      from_id: Number(seller.id),
      topic_id: topic,
      seq_ids: [4],
      ts: expect.stringMatching(ISO_MS),
    });
    expect(await native.inbox.next(ofType("read"))).toMatchObject({
      user_id: seller.id,
      seq: 8,
      message_seqs: [4],
    });
  });

  it("refuses HTTP requests with the socket's error replies as HTTP statuses", async () => {
    const [me, peer] = [await harajUser(), await harajUser()];
    const topic = topicOf(me, peer);
    const unauthorized = { status: 401, err: "ERR_INVALID_ACCESS_TOKEN", ts: expect.stringMatching(ISO_MS) };
    expect(await post("/chat/messages", null, { topic_id: topic, text: "x" })).toEqual({
      status: 401,
      body: unauthorized,
    });
    expect((await post("/chat/typing", "not-a-token", { topic_id: topic })).status).toBe(401);
    expect((await post("/chat/messages", me.token, "{oops")).status).toBe(400);
    expect((await post("/chat/messages", me.token, { topic_id: topic })).body).toMatchObject({
      status: 400,
      err: "ERR_BAD_REQUEST",
    });
    expect((await post("/chat/reads", me.token, { topic_id: topic, seq_id: "1" })).status).toBe(400);
    expect((await post("/chat/stop_typing", me.token, { topic_id: "p2p1" })).status).toBe(400);
    const notMine = await post("/chat/messages", me.token, { topic_id: `p2p1_${peer.id}`, text: "x" });
    expect(notMine).toMatchObject({ status: 403, body: { status: 403, err: "ERR_FORBIDDEN_ACCESS" } });
  });
});

const online = (user: HarajUser) => ({
  pres: { what: "online", from_id: Number(user.id), ts: expect.stringMatching(ISO_MS) },
});

/** A reply by its id or status, a packet by its kind. */
function label(packet: Json): string {
  if (typeof packet.id === "string") return packet.id;
  if (typeof packet.status === "number") return `status ${packet.status}`;
  const pres = packet.pres as Json | undefined;
  return pres ? `pres ${pres.what}` : (Object.keys(packet)[0] ?? "");
}

/** `p2p{a}_{b}` → `p2p{b}_{a}`: the same two users, not in numeric order. */
function reversed(topic: string): string {
  const [a, b] = topic.slice(3).split("_");
  return `p2p${b}_${a}`;
}

/** A device of `peer`'s counterpart that listens to it, to see when `peer`'s presence changes went out. */
async function authedListener(peer: HarajUser): Promise<Wire<Json>> {
  const witness = await harajUser();
  await directRoom(witness, peer);
  const wire = await authed(witness);
  wire.send({ listen: { id: "witness", peer_id: Number(peer.id) } });
  await wire.inbox.next(reply("witness"));
  return wire;
}
