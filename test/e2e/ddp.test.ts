import { DDPSDK } from "@rocket.chat/ddp-client";
import simpleDDP from "simpleddp";
import { afterEach, describe, expect, it } from "vitest";
import WebSocketImpl from "ws";
import { api, baseUrl, devToken, unique, wsUrl } from "./client";
import { type Json, nativeRoomSocket, ofType, openWire, type Wire } from "./wire";

/**
 * Seed 004 (Rocket.Chat's realtime API over Meteor DDP) against `wrangler dev`: raw frames for the protocol and
 * its errors, then Rocket.Chat's own client (@rocket.chat/ddp-client) and simpleddp, unchanged.
 */

const open: Wire<Json>[] = [];
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const wire of open.splice(0)) wire.ws.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function ddp(): Promise<Wire<Json>> {
  const wire = openWire<Json>("/websocket", (text) => [JSON.parse(text) as Json]);
  open.push(wire);
  await wire.opened;
  return wire;
}

async function connected(): Promise<Wire<Json>> {
  const wire = await ddp();
  wire.send({ msg: "connect", version: "1", support: ["1", "pre2", "pre1"] });
  expect(await wire.inbox.next(msg("connected"))).toMatchObject({ session: expect.any(String) });
  return wire;
}

async function loggedIn(user: string): Promise<Wire<Json>> {
  const wire = await connected();
  wire.send({ msg: "method", id: "login", method: "login", params: [{ resume: await devToken(user) }] });
  expect(await wire.inbox.next(result("login"))).toMatchObject({ result: { id: user } });
  return wire;
}

const msg = (name: string) => (f: Json) => f.msg === name;
const result = (id: string) => (f: Json) => f.msg === "result" && f.id === id;
const nosub = (id: string) => (f: Json) => f.msg === "nosub" && f.id === id;
const changed = (collection: string, eventName: string) => (f: Json) =>
  f.msg === "changed" && f.collection === collection && (f.fields as Json).eventName === eventName;

const meteorError = (error: string | number, reason?: string) => ({
  error,
  ...(reason === undefined ? {} : { reason }),
  errorType: "Meteor.Error",
  isClientSafe: true,
});

async function groupRoom(owner: string, members: string[]): Promise<string> {
  const created = await api<{ key: string }>("POST", "/v1/rooms", await devToken(owner), {
    kind: "group",
    members,
  });
  expect(created.status).toBe(201);
  return created.body.key;
}

describe("DDP protocol frames", () => {
  it("answers connect, refuses what comes before it, a second connect, bad JSON and unknown messages", async () => {
    const wire = await ddp();
    wire.send({ msg: "sub", id: "early", name: "stream-room-messages", params: ["x", false] });
    expect(await wire.inbox.next(msg("error"))).toMatchObject({
      reason: "Must connect first",
      offendingMessage: { msg: "sub", id: "early" },
    });
    wire.send({ msg: "connect", version: "1", support: ["1", "pre2", "pre1"] });
    const hello = await wire.inbox.next(msg("connected"));
    wire.send({ msg: "connect", version: "1", support: ["1"] });
    expect(await wire.inbox.next(msg("error"))).toMatchObject({ reason: "Already connected" });
    wire.send("{not json");
    expect(await wire.inbox.next(msg("error"))).toEqual({ msg: "error", reason: "Parse error" });
    wire.send({ msg: "teleport" });
    expect(await wire.inbox.next(msg("error"))).toMatchObject({
      reason: "Bad request",
      offendingMessage: { msg: "teleport" },
    });
    wire.send({ id: "no msg" });
    expect(await wire.inbox.next(msg("error"))).toMatchObject({ reason: "Bad request" });
    wire.send({ msg: "ping", id: "p1" });
    expect(await wire.inbox.next(msg("pong"))).toEqual({ msg: "pong", id: "p1" });
    wire.send({ msg: "ping" });
    expect(await wire.inbox.next(msg("pong"))).toEqual({ msg: "pong" });
    // The session is the gate's: still the same one after all that.
    expect(hello.session).toEqual(expect.any(String));
  });

  it("answers an unsupported version with failed and closes", async () => {
    const wire = await ddp();
    wire.send({ msg: "connect", version: "2", support: ["2"] });
    expect(await wire.inbox.next(msg("failed"))).toEqual({ msg: "failed", version: "1" });
    expect((await wire.closed).code).toBe(1000);
  });

  it("before login: methods get error-invalid-user, unknown methods 404, subs nosub; a bad token 403 and a retry", async () => {
    const user = `dl${unique()}`;
    const wire = await connected();
    wire.send({ msg: "method", id: "m1", method: "sendMessage", params: [{ rid: "r", msg: "hi" }] });
    expect(await wire.inbox.next(result("m1"))).toMatchObject({
      error: { ...meteorError("error-invalid-user", "Invalid user"), details: { method: "sendMessage" } },
    });
    expect(await wire.inbox.next(msg("updated"))).toEqual({ msg: "updated", methods: ["m1"] });
    wire.send({ msg: "method", id: "m2", method: "noSuchMethod", params: [] });
    expect(await wire.inbox.next(result("m2"))).toMatchObject({
      error: {
        ...meteorError(404, "Method 'noSuchMethod' not found"),
        message: "Method 'noSuchMethod' not found [404]",
      },
    });
    wire.send({ msg: "sub", id: "s1", name: "stream-room-messages", params: ["r", false] });
    expect(await wire.inbox.next(nosub("s1"))).toMatchObject({ error: meteorError("not-allowed") });

    wire.send({ msg: "method", id: "bad", method: "login", params: [{ resume: "not-a-token" }] });
    expect(await wire.inbox.next(result("bad"))).toMatchObject({ error: meteorError(403) });
    wire.send({
      msg: "method",
      id: "pw",
      method: "login",
      params: [{ user: { username: user }, password: "x" }],
    });
    expect(await wire.inbox.next(result("pw"))).toMatchObject({
      error: meteorError(400, "Unrecognized options for login request"),
    });
    // The session stayed open: the client logs in again on the same socket.
    const token = await devToken(user);
    wire.send({ msg: "method", id: "good", method: "login", params: [{ resume: token }] });
    const login = await wire.inbox.next(result("good"));
    expect(login.result).toEqual({
      id: user,
      token,
      tokenExpires: { $date: expect.any(Number) },
      type: "resume",
    });
    expect(await wire.inbox.next(msg("updated"))).toEqual({ msg: "updated", methods: ["good"] });
    // A second login renews the token of the same user; another user's token is refused.
    wire.send({ msg: "method", id: "again", method: "login", params: [{ resume: await devToken(user) }] });
    expect(await wire.inbox.next(result("again"))).toMatchObject({ result: { id: user, type: "resume" } });
    wire.send({
      msg: "method",
      id: "other",
      method: "login",
      params: [{ resume: await devToken(`x${user}`) }],
    });
    expect(await wire.inbox.next(result("other"))).toMatchObject({ error: { errorType: "Meteor.Error" } });
  });

  it("runs frames sent right after login in order, once login is answered", async () => {
    const [me, peer] = [`do${unique()}`, `dp${unique()}`];
    const room = await groupRoom(me, [peer]);
    const wire = await connected();
    // Rocket.Chat's client logs in and sends its subs and calls without waiting for the login's result.
    wire.send({ msg: "method", id: "login", method: "login", params: [{ resume: await devToken(me) }] });
    wire.send({ msg: "sub", id: "s", name: "stream-room-messages", params: [room, false] });
    wire.send({
      msg: "method",
      id: "send",
      method: "sendMessage",
      params: [{ _id: "m-1", rid: room, msg: "hi" }],
    });
    const frames = await wire.inbox.until(result("send"));
    const order = frames.map((f) => `${f.msg}:${f.id ?? (f.subs as string[] | undefined)?.[0] ?? ""}`);
    expect(order.indexOf("result:login")).toBeLessThan(order.indexOf("ready:s"));
    expect(order.indexOf("ready:s")).toBeLessThan(order.indexOf("result:send"));
    expect(order.indexOf("result:login")).toBeGreaterThanOrEqual(0);
    expect(frames.find(result("send"))?.result).toMatchObject({
      _id: expect.any(String),
      rid: room,
      msg: "hi",
    });
  });

  it("refuses a room the user may not read with nosub not-allowed; unsub answers nosub", async () => {
    const [owner, stranger] = [`dq${unique()}`, `dr${unique()}`];
    const room = await groupRoom(owner, []);
    const wire = await loggedIn(stranger);
    wire.send({ msg: "sub", id: "s", name: "stream-room-messages", params: [room, false] });
    expect(await wire.inbox.next(nosub("s"))).toMatchObject({ error: meteorError("not-allowed") });
    wire.send({ msg: "sub", id: "n", name: "stream-notify-user", params: [`${owner}/notification`, false] });
    expect(await wire.inbox.next(nosub("n"))).toMatchObject({ error: meteorError("not-allowed") });
    wire.send({ msg: "sub", id: "x", name: "stream-nothing", params: ["a", false] });
    expect(await wire.inbox.next(nosub("x"))).toMatchObject({
      error: meteorError(404, "Subscription 'stream-nothing' not found"),
    });
    wire.send({ msg: "sub", id: "mine", name: "stream-room-messages", params: ["__my_messages__", true] });
    expect(await wire.inbox.next(msg("added"))).toEqual({
      msg: "added",
      collection: "stream-room-messages",
      id: "id",
      fields: { eventName: "__my_messages__" },
    });
    expect(await wire.inbox.next(msg("ready"))).toEqual({ msg: "ready", subs: ["mine"] });
    wire.send({ msg: "unsub", id: "mine" });
    expect(await wire.inbox.next(nosub("mine"))).toEqual({ msg: "nosub", id: "mine" });
    wire.send({ msg: "unsub", id: "never" });
    expect(await wire.inbox.next(nosub("never"))).toEqual({ msg: "nosub", id: "never" });
  });

  it("pings every 30 s: a session that answers pong stays, a silent one is closed", async () => {
    const [talker, mute] = [await loggedIn(`dh${unique()}`), await loggedIn(`dm${unique()}`)];
    talker.inbox.next(msg("ping"), 40_000).then(() => talker.send({ msg: "pong" }));
    expect(await mute.inbox.next(msg("ping"), 40_000)).toEqual({ msg: "ping" });
    expect(await mute.closed).toEqual({ code: 1000, reason: "heartbeat timed out" });
    talker.send({ msg: "ping", id: "alive" });
    expect(await talker.inbox.next((f) => f.msg === "pong" && f.id === "alive")).toEqual({
      msg: "pong",
      id: "alive",
    });
  }, 90_000);

  it("answers a frame past the size limit with Message too big and closes 1009", async () => {
    const wire = await connected();
    wire.send({ msg: "ping", id: "x".repeat(70_000) });
    expect(await wire.inbox.next(msg("error"))).toEqual({ msg: "error", reason: "Message too big" });
    expect((await wire.closed).code).toBe(1009);
  });

  it("logout answers, then closes the session", async () => {
    const wire = await loggedIn(`ds${unique()}`);
    wire.send({ msg: "method", id: "out", method: "logout", params: [] });
    expect(await wire.inbox.next(result("out"))).toEqual({ msg: "result", id: "out" });
    expect(await wire.closed).toMatchObject({ code: 1000 });
  });
});

describe("Rocket.Chat methods and streams over raw frames", () => {
  it("sends with an idempotent _id, loads history by date, lists rooms, members and subscriptions", async () => {
    const [me, peer] = [`dt${unique()}`, `du${unique()}`];
    const room = await groupRoom(me, [peer]);
    const wire = await loggedIn(me);
    const call = async (id: string, method: string, params: unknown[]) => {
      wire.send({ msg: "method", id, method, params });
      return wire.inbox.next(result(id));
    };
    const first = await call("1", "sendMessage", [{ _id: "client-1", rid: room, msg: "one" }]);
    expect(first.result).toMatchObject({
      _id: expect.any(String),
      rid: room,
      msg: "one",
      ts: { $date: expect.any(Number) },
      _updatedAt: { $date: expect.any(Number) },
      u: { _id: me, username: me, name: me },
      urls: [],
      mentions: [],
    });
    const again = await call("2", "sendMessage", [{ _id: "client-1", rid: room, msg: "one" }]);
    expect((again.result as Json)._id).toBe((first.result as Json)._id);
    await new Promise((r) => setTimeout(r, 5));
    await call("3", "sendMessage", [{ rid: room, msg: "two" }]);
    await call("4", "sendMessage", [{ rid: room, msg: "three" }]);

    const all = await call("h", "loadHistory", [room, null, 10, null]);
    const texts = ((all.result as Json).messages as Json[]).map((m) => m.msg);
    expect(texts).toEqual(["three", "two", "one"]);
    const second = ((all.result as Json).messages as Json[])[1] as Json;
    const older = await call("h2", "loadHistory", [room, second.ts, 10, null]);
    expect(((older.result as Json).messages as Json[]).map((m) => m.msg)).toEqual(["one"]);

    const rooms = await call("r", "rooms/get", []);
    expect(rooms.result).toEqual(expect.arrayContaining([expect.objectContaining({ _id: room, t: "c" })]));
    const subs = await call("sg", "subscriptions/get", [{ $date: 0 }]);
    expect((subs.result as Json).update).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rid: room, u: expect.objectContaining({ _id: me }) }),
      ]),
    );
    const members = await call("u", "getUsersOfRoom", [room, true, { limit: 10, skip: 0 }, ""]);
    expect(members.result).toMatchObject({ total: 2 });
    const direct = await call("d", "createDirectMessage", [peer]);
    expect(direct.result).toMatchObject({ t: "d", rid: expect.any(String) });
    const read = await call("rd", "readMessages", [room]);
    expect(read).toEqual({ msg: "result", id: "rd" });
    const wrong = await call("w", "sendMessage", [{ rid: room }]);
    expect(wrong.error).toMatchObject(meteorError(400, "Match failed"));
  });

  it("answers a burst past the rate limit with too-many-requests and the time to wait", async () => {
    const me = `dk${unique()}`;
    const room = await groupRoom(me, []);
    const wire = await loggedIn(me);
    for (let i = 0; i < 40; i++)
      wire.send({
        msg: "method",
        id: `b${i}`,
        method: "sendMessage",
        params: [{ rid: room, msg: `burst ${i}` }],
      });
    const answers = await wire.inbox.until(result("b39"), 15_000);
    const refused = answers.filter((f) => f.msg === "result" && f.error !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]?.error).toMatchObject({
      ...meteorError("too-many-requests"),
      reason: expect.stringMatching(
        /^Error, too many requests\. Please slow down\. You must wait \d+ seconds/,
      ),
      details: { timeToReset: expect.any(Number) },
    });
  });

  it("streams typing to other members only, and room messages to subscribers", async () => {
    const [me, peer] = [`dv${unique()}`, `dw${unique()}`];
    const room = await groupRoom(me, [peer]);
    const [mine, theirs] = [await loggedIn(me), await loggedIn(peer)];
    for (const wire of [mine, theirs]) {
      wire.send({
        msg: "sub",
        id: "typing",
        name: "stream-notify-room",
        params: [`${room}/user-activity`, { useCollection: false, args: [] }],
      });
      wire.send({ msg: "sub", id: "msgs", name: "stream-room-messages", params: [room, false] });
      await wire.inbox.next((f) => f.msg === "ready" && (f.subs as string[]).includes("msgs"));
    }
    mine.send({
      msg: "method",
      id: "t",
      method: "stream-notify-room",
      params: [`${room}/user-activity`, me, ["user-typing"], {}],
    });
    expect(await mine.inbox.next(result("t"))).toEqual({ msg: "result", id: "t" });
    const typing = await theirs.inbox.next(changed("stream-notify-room", `${room}/user-activity`));
    expect((typing.fields as Json).args).toEqual([me, ["user-typing"]]);
    mine.send({
      msg: "method",
      id: "s",
      method: "sendMessage",
      params: [{ rid: room, msg: "after typing" }],
    });
    const seen = await mine.inbox.until(changed("stream-room-messages", room));
    expect(seen.some(changed("stream-notify-room", `${room}/user-activity`))).toBe(false);
    const delivered = await theirs.inbox.next(changed("stream-room-messages", room));
    expect((delivered.fields as Json).args).toEqual([
      expect.objectContaining({ msg: "after typing", rid: room }),
    ]);

    // The author hears that another member read up to their message.
    mine.send({
      msg: "sub",
      id: "read",
      name: "stream-notify-room",
      params: [`${room}/messagesRead`, false],
    });
    await mine.inbox.next((f) => f.msg === "ready" && (f.subs as string[]).includes("read"));
    theirs.send({ msg: "method", id: "r", method: "readMessages", params: [room] });
    await theirs.inbox.next(result("r"));
    const read = await mine.inbox.next(changed("stream-notify-room", `${room}/messagesRead`));
    expect((read.fields as Json).args).toEqual([{ until: { $date: expect.any(Number) } }]);
  });
});

describe("the user's streams", () => {
  it("reports new rooms, unread counts and reads on subscriptions-changed, and mentions on notification", async () => {
    const [me, peer] = [`ua${unique()}`, `ub${unique()}`];
    const wire = await loggedIn(me);
    for (const event of ["subscriptions-changed", "rooms-changed", "notification"])
      wire.send({ msg: "sub", id: event, name: "stream-notify-user", params: [`${me}/${event}`, false] });
    await wire.inbox.next((f) => f.msg === "ready" && (f.subs as string[]).includes("notification"));
    const subscription = (change: string, match: (s: Json) => boolean) => (f: Json) =>
      changed("stream-notify-user", `${me}/subscriptions-changed`)(f) &&
      ((f.fields as Json).args as unknown[])[0] === change &&
      match(((f.fields as Json).args as Json[])[1] as Json);
    const argsOf = (f: Json | undefined, i = 1) => (((f as Json).fields as Json).args as Json[])[i];

    const room = await groupRoom(peer, [me]);
    const inserted = await wire.inbox.next(
      subscription("inserted", (s) => s.rid === room),
      10_000,
    );
    expect(argsOf(inserted)).toMatchObject({ rid: room, u: { _id: me }, t: "c" });

    const peerWire = await loggedIn(peer);
    peerWire.send({
      msg: "method",
      id: "s",
      method: "sendMessage",
      params: [{ rid: room, msg: `hey @${me}` }],
    });
    await peerWire.inbox.next(result("s"));
    // The unread count and the notification come from separate parts of the user's object, in either order.
    const isUnread = subscription("updated", (s) => s.rid === room && s.unread === 1);
    const isNotification = changed("stream-notify-user", `${me}/notification`);
    const seen = (match: (f: Json) => boolean) => wire.inbox.items.find(match);
    await wire.inbox.until(() => seen(isUnread) !== undefined && seen(isNotification) !== undefined);
    expect(argsOf(seen(isUnread))).toMatchObject({ alert: true });
    expect(argsOf(seen(isNotification), 0)).toMatchObject({
      payload: { rid: room, sender: { _id: peer }, message: { msg: `hey @${me}` } },
    });

    wire.send({ msg: "method", id: "r", method: "readMessages", params: [room] });
    await wire.inbox.next(subscription("updated", (s) => s.rid === room && s.unread === 0));
  });
});

describe("the message lifecycle over DDP methods and streams", () => {
  it("edits, reacts (toggling), pins, threads and deletes, each seen on the other member's streams", async () => {
    const [me, peer] = [`la${unique()}`, `lb${unique()}`];
    const room = await groupRoom(me, [peer]);
    const [mine, theirs] = [await loggedIn(me), await loggedIn(peer)];
    for (const wire of [mine, theirs]) {
      wire.send({ msg: "sub", id: "m", name: "stream-room-messages", params: [room, false] });
      wire.send({
        msg: "sub",
        id: "d",
        name: "stream-notify-room",
        params: [`${room}/deleteMessage`, false],
      });
      await wire.inbox.next((f) => f.msg === "ready" && (f.subs as string[]).includes("d"));
    }
    const call = async (wire: Wire<Json>, id: string, method: string, params: unknown[]) => {
      wire.send({ msg: "method", id, method, params });
      return wire.inbox.next(result(id));
    };
    const update = (match: (m: Json) => boolean) => (f: Json) =>
      changed("stream-room-messages", room)(f) && match(((f.fields as Json).args as Json[])[0] as Json);

    const root = (await call(mine, "1", "sendMessage", [{ rid: room, msg: "root" }])).result as Json;
    await theirs.inbox.next(update((m) => m._id === root._id));

    expect(
      await call(mine, "2", "updateMessage", [{ _id: root._id, rid: room, msg: "root, edited" }]),
    ).toEqual({
      msg: "result",
      id: "2",
    });
    const edited = await theirs.inbox.next(update((m) => m.msg === "root, edited"));
    expect(((edited.fields as Json).args as Json[])[0]).toMatchObject({
      _id: root._id,
      editedAt: { $date: expect.any(Number) },
      editedBy: { _id: me },
    });
    const notMine = await call(theirs, "3", "updateMessage", [{ _id: root._id, rid: room, msg: "hijack" }]);
    expect(notMine.error).toMatchObject({ error: "error-not-allowed", errorType: "Meteor.Error" });

    expect(await call(theirs, "4", "setReaction", [":+1:", root._id])).toEqual({ msg: "result", id: "4" });
    const reacted = await mine.inbox.next(update((m) => m.reactions !== undefined));
    expect(((reacted.fields as Json).args as Json[])[0]).toMatchObject({
      reactions: { ":+1:": { usernames: [peer] } },
    });
    await call(theirs, "5", "setReaction", ["+1", root._id]);
    await mine.inbox.next(update((m) => m._id === root._id && m.reactions === undefined));

    const pinned = await call(mine, "6", "pinMessage", [{ _id: root._id, rid: room }]);
    expect(pinned.result).toMatchObject({
      _id: root._id,
      pinned: true,
      pinnedAt: { $date: expect.any(Number) },
    });
    await theirs.inbox.next(update((m) => m._id === root._id && m.pinned === true));

    const reply = (await call(theirs, "7", "sendMessage", [{ rid: room, msg: "in thread", tmid: root._id }]))
      .result as Json;
    expect(reply).toMatchObject({ tmid: root._id });
    const thread = await call(mine, "8", "getThreadMessages", [{ tmid: root._id }]);
    expect((thread.result as Json[]).map((m) => m.msg)).toEqual(["in thread"]);

    // Only its author or a room owner deletes a message.
    expect((await call(theirs, "9", "deleteMessage", [{ _id: root._id }])).error).toMatchObject({
      error: "error-not-allowed",
    });
    // A socket that never saw the message finds its room through the message index.
    const fresh = await loggedIn(me);
    await new Promise((r) => setTimeout(r, 600));
    expect(await call(fresh, "10", "deleteMessage", [{ _id: root._id }])).toEqual({
      msg: "result",
      id: "10",
    });
    const gone = await theirs.inbox.next(changed("stream-notify-room", `${room}/deleteMessage`));
    expect((gone.fields as Json).args).toEqual([{ _id: root._id }]);
    expect((await call(fresh, "11", "deleteMessage", [{ _id: "no-such-message" }])).error).toMatchObject({
      error: "error-invalid-message",
    });
  });
});

describe("real DDP clients", () => {
  it("@rocket.chat/ddp-client, simpleddp and a native socket in one room see one order", async () => {
    const [a, b, c] = [`dx${unique()}`, `dy${unique()}`, `dz${unique()}`];
    const room = await groupRoom(a, [b, c]);

    const sdk = DDPSDK.create(baseUrl());
    cleanups.push(() => sdk.connection.close());
    await sdk.connection.connect();
    const login = await sdk.account.loginWithToken(await devToken(a));
    expect(login).toMatchObject({ id: a, type: "resume" });
    expect(sdk.account.uid).toBe(a);
    const viaSdk: string[] = [];
    const stream = sdk.stream("room-messages", room, (message: { msg: string }) => viaSdk.push(message.msg));
    await stream.ready();

    const simple = new simpleDDP({
      endpoint: wsUrl("/websocket"),
      SocketConstructor: WebSocketImpl,
      reconnectInterval: 60_000,
    });
    cleanups.push(() => simple.disconnect());
    await simple.connect();
    const simpleLogin = (await simple.call("login", { resume: await devToken(b) })) as {
      id: string;
      tokenExpires: unknown;
    };
    expect(simpleLogin.id).toBe(b);
    // simpleddp reads EJSON: the date arrives as a Date.
    expect(simpleLogin.tokenExpires).toBeInstanceOf(Date);
    const viaSimple: string[] = [];
    simple.on(
      "changed",
      (m: { collection: string; fields: { eventName: string; args: { msg: string }[] } }) => {
        if (m.collection === "stream-room-messages" && m.fields.eventName === room)
          viaSimple.push(m.fields.args[0]?.msg ?? "");
      },
    );
    await simple.subscribe("stream-room-messages", room, false).ready();

    const native = await nativeRoomSocket(room, await devToken(c));
    open.push(native);

    const sent = (await sdk.client.callAsync("sendMessage", {
      _id: `sdk-${unique()}`,
      rid: room,
      msg: "a1",
    })) as {
      msg: string;
      ts: unknown;
    };
    expect(sent.msg).toBe("a1");
    const texts = ["a1"];
    for (let i = 0; i < 3; i++) {
      texts.push(`b${i}`, `c${i}`);
      void simple.call("sendMessage", { rid: room, msg: `b${i}` });
      native.send({ type: "send", temp_id: `n${i}`, text: `c${i}` });
    }
    const nativeOrder: string[] = [];
    while (nativeOrder.length < texts.length)
      nativeOrder.push(((await native.inbox.next(ofType("message"))).message as Json).text as string);
    const deadline = Date.now() + 10_000;
    while ((viaSdk.length < texts.length || viaSimple.length < texts.length) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect([...nativeOrder].sort()).toEqual([...texts].sort());
    expect(viaSdk).toEqual(nativeOrder);
    expect(viaSimple).toEqual(nativeOrder);
  });
});
