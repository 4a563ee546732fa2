import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DDP_IDLE_LIMIT_MS, DDP_PING_INTERVAL_MS } from "../../src/dialects/ddp/codec";
import { CloseCode } from "../../src/domain/close-codes";
import { userStub } from "../../src/rooms/stubs";
import type { SessionHost } from "../../src/sessions/host";
import { makeRoom, profile, roomStub, sleep } from "../helpers/rooms";
import { openSocket, type TestSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

/** DDP over `/websocket` inside workerd: the first-frame gate's hand-off, heartbeats and hibernation. */

type Frame = Record<string, unknown>;
const msg = (name: string) => (f: Frame) => f.msg === name;
const result = (id: string) => (f: Frame) => f.msg === "result" && f.id === id;

async function loggedIn(user: string): Promise<TestSocket> {
  const socket = await openSocket("/websocket");
  socket.send({ msg: "connect", version: "1", support: ["1"] });
  await socket.next(msg("connected"));
  socket.send({ msg: "method", id: "login", method: "login", params: [{ resume: await tokenFor(user) }] });
  expect(await socket.next(result("login"))).toMatchObject({ result: { id: user } });
  return socket;
}

/** Runs the user object's socket timers as if `ahead` ms had passed. */
async function sweepAhead(user: string, ahead: number): Promise<void> {
  await runInDurableObject(userStub(env, user), async (instance) => {
    (instance as unknown as { sockets: SessionHost }).sockets.sweep(Date.now() + ahead);
  });
}

/** Waits until the server has handled every frame sent so far: a client ping is answered in order. */
async function settled(socket: TestSocket, id: string): Promise<void> {
  socket.send({ msg: "ping", id });
  await socket.next((f) => f.msg === "pong" && f.id === id);
}

describe("DDP sessions hosted by the user object", () => {
  it("pings every interval; a session that answers stays, a silent one is closed", async () => {
    const [talker, mute] = [await loggedIn("ddp-hb-a"), await loggedIn("ddp-hb-b")];
    await sweepAhead("ddp-hb-a", DDP_PING_INTERVAL_MS + 1000);
    await sweepAhead("ddp-hb-b", DDP_PING_INTERVAL_MS + 1000);
    expect(await talker.next(msg("ping"))).toEqual({ msg: "ping" });
    expect(await mute.next(msg("ping"))).toEqual({ msg: "ping" });
    talker.send({ msg: "pong" });
    await settled(talker, "after pong");
    await sweepAhead("ddp-hb-a", 2 * DDP_PING_INTERVAL_MS + 2000);
    await sweepAhead("ddp-hb-b", 2 * DDP_PING_INTERVAL_MS + 2000);
    expect(await mute.closed).toEqual({ code: 1000, reason: "heartbeat timed out" });
    expect(await talker.next(msg("ping"))).toEqual({ msg: "ping" });
    await settled(talker, "still open");
  });

  it("closes a session silent past the idle backstop even when no heartbeat ran meanwhile", async () => {
    const socket = await loggedIn("ddp-idle");
    await sweepAhead("ddp-idle", DDP_IDLE_LIMIT_MS + 1000);
    expect(await socket.closed).toEqual({ code: CloseCode.Afk, reason: "no keepalive" });
  });

  it("keeps the session, its subs and its activity through the object's eviction", async () => {
    await makeRoom("ddp-evict", "ddp-ev-a", ["ddp-ev-b"]);
    const socket = await loggedIn("ddp-ev-b");
    socket.send({ msg: "sub", id: "s", name: "stream-room-messages", params: ["ddp-evict", false] });
    expect(await socket.next(msg("ready"))).toEqual({ msg: "ready", subs: ["s"] });
    await sweepAhead("ddp-ev-b", DDP_PING_INTERVAL_MS + 1000);
    await socket.next(msg("ping"));
    socket.send({ msg: "pong" });
    await settled(socket, "before eviction");
    await evictDurableObject(userStub(env, "ddp-ev-b"));
    // The answered ping is remembered: the next heartbeat pings again instead of closing.
    await sweepAhead("ddp-ev-b", 2 * DDP_PING_INTERVAL_MS + 2000);
    expect(await socket.next(msg("ping"))).toEqual({ msg: "ping" });
    socket.send({
      msg: "method",
      id: "m",
      method: "sendMessage",
      params: [{ rid: "ddp-evict", msg: "after" }],
    });
    expect(await socket.next(result("m"))).toMatchObject({ result: { msg: "after", rid: "ddp-evict" } });
    const delivered = await socket.next(msg("changed"));
    expect(delivered).toMatchObject({
      collection: "stream-room-messages",
      fields: { eventName: "ddp-evict", args: [{ msg: "after" }] },
    });
  });

  it("runs login, the subs and calls sent with it in order, the login answered by the user object", async () => {
    const room = await makeRoom("ddp-order", "ddp-or-a", ["ddp-or-b"]);
    await room.post(profile("ddp-or-a"), { temp_id: "o1", text: "earlier" });
    const socket = await openSocket("/websocket");
    socket.send({ msg: "connect", version: "1", support: ["1"] });
    socket.send({
      msg: "method",
      id: "login",
      method: "login",
      params: [{ resume: await tokenFor("ddp-or-b") }],
    });
    socket.send({ msg: "sub", id: "s", name: "stream-room-messages", params: ["ddp-order", false] });
    socket.send({ msg: "method", id: "h", method: "loadHistory", params: ["ddp-order", null, 5, null] });
    socket.send({
      msg: "method",
      id: "t",
      method: "sendMessage",
      params: [{ rid: "ddp-order", msg: "now" }],
    });
    await socket.next(result("t"));
    const order = socket.received
      .map((f) => f as Frame)
      .filter((f) => ["connected", "result", "ready"].includes(f.msg as string))
      .map((f) => (f.msg === "result" ? `result:${f.id}` : (f.msg as string)));
    expect(order).toEqual(["connected", "result:login", "ready", "result:h", "result:t"]);
    const history = socket.received.find((f) => result("h")(f as Frame)) as Frame;
    expect((history.result as { messages: Frame[] }).messages.map((m) => m.msg)).toEqual(["earlier"]);
    // Nothing the room sent before the sub, and the sub's own message exactly once.
    await sleep(100);
    const changes = socket.received.filter((f) => (f as Frame).msg === "changed");
    expect(changes).toHaveLength(1);
    await roomStub("ddp-order").post(profile("ddp-or-a"), { temp_id: "o2", text: "later" });
    const later = (f: Frame) => f.msg === "changed" && JSON.stringify(f).includes('"msg":"later"');
    expect(await socket.next(later)).toMatchObject({ fields: { eventName: "ddp-order" } });
  });
});
