import { Versions } from "@stomp/stompjs";
import { afterEach, describe, expect, it } from "vitest";
import { api, baseUrl, devToken, unique } from "./client";
import {
  byText,
  chatTopic,
  type Delivery,
  dmTopic,
  GossipClient,
  type GossipUser,
  gossipUser,
  ofMessageType,
  stompUrl,
  userStompUrl,
} from "./gossip";
import { type Json, nativeRoomSocket, ofType, type Wire } from "./wire";

/**
 * Seed 000 (Gossip VideoRoom chat) with the real `@stomp/stompjs` client over real sockets against `wrangler dev`.
 * Every client is written from the seed alone: connect headers, topics, `/app/chat`, `/app/dm`, the Message Model.
 */

const open: (GossipClient | Wire<Json>)[] = [];

afterEach(async () => {
  const closing = open.splice(0).map((c) => (c instanceof GossipClient ? c.disconnect() : c.ws.close()));
  await Promise.allSettled(closing);
});

async function liveRoom(owner: GossipUser, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await api<{ key: string; kind: string }>("POST", "/v1/rooms", owner.token, {
    kind: "live",
    ...extra,
  });
  expect(created.status).toBe(201);
  return created.body.key;
}

async function connect(room: string, user: GossipUser): Promise<GossipClient> {
  const client = await GossipClient.connect({ room, user });
  open.push(client);
  return client;
}

async function users<const Names extends readonly string[]>(
  ...names: Names
): Promise<{ [K in keyof Names]: GossipUser }> {
  const suffix = unique();
  const made = await Promise.all(names.map((name) => gossipUser(`${name}-${suffix}`)));
  return made as { [K in keyof Names]: GossipUser };
}

/** The subprotocol the server echoed: stompjs types its socket without it. */
const subprotocolOf = (gossip: GossipClient) => (gossip.client.webSocket as WebSocket | undefined)?.protocol;

const UNIX_SECONDS = /^\d{10}$/;
/** The seed's `message_id` shape: 19 digits, a long (see docs/dialects/stomp.md). */
const NUMERIC_ID = /^\d{19}$/;

describe("STOMP (seed 000) with @stomp/stompjs against wrangler dev", () => {
  it("connects any authenticated user to a public live room, with the URL the token API returns", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const minted = await fetch(`${baseUrl()}/v1/dev/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: viewer.id, name: viewer.username, room }),
    });
    const { token, urls } = (await minted.json()) as { token: string; urls: { stomp: string } };
    expect(urls.stomp).toBe(`${baseUrl().replace(/^http/, "ws")}/v1/rooms/${room}/stomp`);

    const gossip = await GossipClient.connect({ room, user: { ...viewer, token }, brokerURL: urls.stomp });
    open.push(gossip);
    const connected = gossip.connects.items[0];
    expect(connected?.headers).toMatchObject({
      version: "1.2",
      "heart-beat": "0,25000",
      server: "Parley",
      "user-name": viewer.id,
    });
    expect(connected?.headers.session).toMatch(/\S/);
    expect(subprotocolOf(gossip)).toBe("v12.stomp");
    expect(gossip.client.connectedVersion).toBe("1.2");
  });

  it("refuses a bad token and a userid that is not the token's subject: ERROR, then close 4002", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const headers = { appid: "flipflop-e2e", userid: viewer.id, username: viewer.username };

    const badToken = await GossipClient.refused({
      room,
      user: viewer,
      connectHeaders: { ...headers, token: `${viewer.token}x` },
    });
    expect(badToken.error.command).toBe("ERROR");
    expect(badToken.error.headers.message).toMatch(/\S/);
    expect(badToken.error.body).toBe("invalid_token");
    expect(badToken.close.code).toBe(4002);

    const expired = await GossipClient.refused({
      room,
      user: viewer,
      connectHeaders: { ...headers, token: await devToken(viewer.id, { exp: 1_000_000 }) },
    });
    expect(expired.error.body).toBe("token_expired");
    expect(expired.close.code).toBe(4002);

    const mismatch = await GossipClient.refused({
      room,
      user: viewer,
      connectHeaders: { ...headers, token: viewer.token, userid: owner.id },
    });
    expect(mismatch.error.headers.message).toBe("userid does not match the token");
    expect(mismatch.close.code).toBe(4002);

    const noToken = await GossipClient.refused({ room, user: viewer, connectHeaders: headers });
    expect(noToken.error.body).toBe("unauthorized");
    expect(noToken.close.code).toBe(4001);
  });

  it("refuses a non-member in a private live room, and admits its members", async () => {
    const [owner, member, stranger] = await users("owner", "member", "stranger");
    const room = await liveRoom(owner, { private: true, members: [member.id] });

    const refused = await GossipClient.refused({
      room,
      user: stranger,
      connectHeaders: { token: stranger.token, appid: "flipflop-e2e", userid: stranger.id },
    });
    expect(refused.error.body).toBe("forbidden");
    expect(refused.close.code).toBe(4012);

    const admitted = await connect(room, member);
    const inbox = await admitted.subscribe(chatTopic(room));
    await admitted.send(admitted.message("members only"));
    expect((await inbox.next(byText("members only"))).body.message_type).toBe("MESSAGE");
  });

  it("subscribes, sends and receives on the room topic with the seed's message model", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const host = await connect(room, owner);
    const guest = await connect(room, viewer);
    const hostInbox = await host.subscribe(chatTopic(room));
    const guestInbox = await guest.subscribe(chatTopic(room));

    const receipt = await guest.send(
      guest.message("this is test message", {
        user: { id: viewer.id, username: "beauty", avatar: "https://www.example.com/avatar/myimage.jpg" },
        custom_type: "MSG",
        data: "",
      }),
    );
    expect(receipt.command).toBe("RECEIPT");

    const atHost = await hostInbox.next(byText("this is test message"));
    const atGuest = await guestInbox.next(byText("this is test message"));
    expect(Object.keys(atHost.body).sort()).toEqual(
      [
        "channel_key",
        "user",
        "message_type",
        "message_id",
        "message",
        "custom_type",
        "data",
        "created_at",
      ].sort(),
    );
    expect(atHost.body).toEqual({
      channel_key: room,
      // The profile comes from the token, not from the body.
      user: { id: viewer.id, username: viewer.username, avatar: null },
      message_type: "MESSAGE",
      message_id: expect.stringMatching(NUMERIC_ID),
      message: "this is test message",
      custom_type: "MSG",
      data: "",
      created_at: expect.stringMatching(UNIX_SECONDS),
    });
    expect(Math.abs(Number(atHost.body.created_at) - Date.now() / 1000)).toBeLessThan(60);
    expect(atGuest.body).toEqual(atHost.body);
    expect(atHost.headers).toMatchObject({
      destination: chatTopic(room),
      "message-id": atHost.body.message_id,
      "content-type": "application/json",
    });
    expect(atHost.headers.subscription).toMatch(/\S/);

    await host.send(host.message("a command", { message_type: "COMMAND", data: { action: "mute" } }));
    const command = await guestInbox.next(byText("a command"));
    expect(command.body).toMatchObject({
      message_type: "COMMAND",
      data: { action: "mute" },
      custom_type: null,
      user: { id: owner.id, username: owner.username },
    });
  });

  it("keeps DMs private: only the receiver sees one, and nobody subscribes to another's DM topic", async () => {
    const [owner, alice, bob, carol] = await users("owner", "alice", "bob", "carol");
    const room = await liveRoom(owner);
    const [a, b, c] = await Promise.all([connect(room, alice), connect(room, bob), connect(room, carol)]);
    const aDm = await a.subscribe(dmTopic(room, alice.id));
    const bDm = await b.subscribe(dmTopic(room, bob.id));
    const cDm = await c.subscribe(dmTopic(room, carol.id));
    const cChat = await c.subscribe(chatTopic(room));

    await a.send(a.message("psst bob", { message_type: "DM" }), bob.id);
    const atBob = await bDm.next(byText("psst bob"));
    expect(atBob.headers.destination).toBe(dmTopic(room, bob.id));
    expect(atBob.body).toMatchObject({
      channel_key: room,
      user: { id: alice.id },
      message_type: "DM",
      message: "psst bob",
    });

    // A room message sent after the DM reaches carol after it would have: she never got the DM. Nor did its
    // sender: a DM is "only for me" (seed 000), the RECEIPT was alice's confirmation.
    await a.send(a.message("after the dm"));
    const carolSaw = await cChat.until(byText("after the dm"));
    expect(carolSaw.some(byText("psst bob"))).toBe(false);
    expect(cDm.items.some(byText("psst bob"))).toBe(false);
    expect(aDm.items.some(byText("psst bob"))).toBe(false);

    c.client.subscribe(dmTopic(room, bob.id), () => undefined);
    const error = await c.errors.next();
    expect(error.headers.message).toMatch(/cannot subscribe/);
    expect(error.body).toBe("forbidden");
    expect((await c.closes.next()).code).toBe(4012);
  });

  it("announces JOIN and LEAVE with total_user_count and participant_count", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const host = await connect(room, owner);
    const hostInbox = await host.subscribe(chatTopic(room));
    const ownJoin = await hostInbox.next(ofMessageType("JOIN"));
    expect(ownJoin.body).toEqual({
      channel_key: room,
      user: { id: owner.id, username: owner.username, avatar: null },
      message_type: "JOIN",
      message_id: expect.stringMatching(NUMERIC_ID),
      message: "",
      custom_type: null,
      data: null,
      created_at: expect.stringMatching(UNIX_SECONDS),
      total_user_count: 1,
      participant_count: 1,
    });
    expect(ownJoin.headers["message-id"]).toBe(ownJoin.body.message_id);

    const guest = await connect(room, viewer);
    await guest.subscribe(chatTopic(room));
    expect((await hostInbox.next(ofMessageType("JOIN"))).body).toMatchObject({
      user: { id: viewer.id, username: viewer.username },
      total_user_count: 2,
      participant_count: 2,
    });

    // A second connection of a present user is no new participant.
    const hostAgain = await connect(room, owner);
    await hostAgain.subscribe(chatTopic(room));
    await guest.disconnect();
    const leave = await hostInbox.until(ofMessageType("LEAVE"));
    expect(leave.filter(ofMessageType("JOIN"))).toEqual([]);
    expect(leave.at(-1)?.body).toMatchObject({
      user: { id: viewer.id },
      message: "",
      total_user_count: 2,
      participant_count: 1,
    });

    const back = await connect(room, viewer);
    await back.subscribe(chatTopic(room));
    expect((await hostInbox.next(ofMessageType("JOIN"))).body).toMatchObject({
      user: { id: viewer.id },
      total_user_count: 2,
      participant_count: 2,
    });

    back.publish(back.message("I am joining", { message_type: "JOIN" }));
    const error = await back.errors.next();
    expect(error.headers.message).toBe("JOIN messages are sent by the server only");
    expect((await back.closes.next()).code).toBe(4012);
    expect((await hostInbox.next(ofMessageType("LEAVE"))).body).toMatchObject({
      user: { id: viewer.id },
      participant_count: 1,
    });
  });

  it("receipts a SEND only once the message is stored, and a DISCONNECT before closing", async () => {
    const [owner] = await users("owner");
    const room = await liveRoom(owner);
    const host = await connect(room, owner);
    const receipt = await host.send(host.message("stored before the receipt"));
    expect(receipt.headers["receipt-id"]).toMatch(/^send-/);
    const history = await api<{ messages: { text: string }[] }>(
      "GET",
      `/v1/rooms/${room}/messages`,
      owner.token,
    );
    expect(history.body.messages.map((m) => m.text)).toContain("stored before the receipt");

    const disconnected = new Promise<Record<string, string>>((resolve) => {
      host.client.onDisconnect = (frame) => resolve(frame.headers);
    });
    await host.disconnect();
    expect((await disconnected)["receipt-id"]).toMatch(/^close-/);
    expect((await host.closes.next()).code).toBe(1000);
  });

  it("reconnects: a new session of the same client continues in the same room", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const host = await connect(room, owner);
    const hostInbox = await host.subscribe(chatTopic(room));

    // The usual stompjs pattern: subscribe in onConnect, so every new session resubscribes.
    const guest = new GossipClient({ room, user: viewer, reconnectDelay: 50 });
    open.push(guest);
    const guestInbox = new Map<string, Delivery[]>();
    guest.client.onConnect = (frame) => {
      const session = frame.headers.session ?? "";
      guestInbox.set(session, []);
      guest.client.subscribe(chatTopic(room), (m) => {
        guestInbox.get(session)?.push({ headers: { ...m.headers }, body: JSON.parse(m.body) });
      });
      guest.connects.push(frame);
    };
    guest.client.activate();
    const first = await guest.connects.next();

    guest.client.forceDisconnect();
    await guest.closes.next();
    const second = await guest.connects.next();
    expect(second.headers.session).not.toBe(first.headers.session);

    await guest.send(guest.message("back again"));
    expect((await hostInbox.next(byText("back again"))).body.user).toMatchObject({ id: viewer.id });
    await host.send(host.message("welcome back"));
    await expect
      .poll(() => guestInbox.get(second.headers.session ?? "")?.map((d) => d.body.message))
      .toContain("welcome back");
  });

  it("works with stompjs's wire options: split and binary frames on a key with colons, STOMP 1.1 and 1.0", async () => {
    const [owner, splitter, binary, older, oldest] = await users("owner", "split", "bin", "v11", "v10");
    const room = await liveRoom(owner, { key: `gossip:${unique()}:room` });
    const host = await connect(room, owner);
    const hostInbox = await host.subscribe(chatTopic(room));

    const split = await GossipClient.connect({
      room,
      user: splitter,
      config: { splitLargeFrames: true, maxWebSocketChunkSize: 64 },
    });
    open.push(split);
    const long = `grüße ${"0123456789".repeat(300)}`;
    await split.send(split.message(long));
    expect((await hostInbox.next(byText(long))).body.user).toMatchObject({ id: splitter.id });

    const bin = await GossipClient.connect({ room, user: binary, config: { forceBinaryWSFrames: true } });
    open.push(bin);
    const binInbox = await bin.subscribe(chatTopic(room));
    await bin.send(bin.message("binary ✓ 🎥"));
    await hostInbox.next(byText("binary ✓ 🎥"));
    expect((await binInbox.next(byText("binary ✓ 🎥"))).headers.destination).toBe(chatTopic(room));

    // stompjs unescapes headers only in 1.2, so older clients get a key without colons (see docs/dialects/stomp.md).
    const plainRoom = await liveRoom(owner);
    const plainHost = await connect(plainRoom, owner);
    const plainInbox = await plainHost.subscribe(chatTopic(plainRoom));
    for (const [user, version] of [
      [older, "1.1"],
      [oldest, "1.0"],
    ] as const) {
      const client = await GossipClient.connect({
        room: plainRoom,
        user,
        config: { stompVersions: new Versions([version]) },
      });
      open.push(client);
      expect(client.client.connectedVersion).toBe(version);
      expect(subprotocolOf(client)).toBe(`v${version.replace(".", "")}.stomp`);
      const inbox = await client.subscribe(chatTopic(plainRoom));
      await client.send(client.message(`hello from ${version}`));
      const own = await inbox.next(byText(`hello from ${version}`));
      expect(own.headers.destination).toBe(chatTopic(plainRoom));
      await plainInbox.next(byText(`hello from ${version}`));
    }
  });

  it("serves one room to STOMP and native clients in one sequence order", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const gossip = await connect(room, viewer);
    const gossipInbox = await gossip.subscribe(chatTopic(room));
    const native = await nativeRoomSocket(room, owner.token);
    open.push(native);

    const texts = ["one", "two", "three", "four", "five", "six"];
    texts.forEach((text, i) => {
      if (i % 2 === 0) gossip.publish(gossip.message(`stomp ${text}`));
      else native.send({ type: "send", temp_id: `n${i}`, text: `native ${text}` });
    });

    const nativeSeen: Json[] = [];
    while (nativeSeen.length < texts.length)
      nativeSeen.push((await native.inbox.next(ofType("message"))).message as Json);
    const stompSeen: Delivery[] = [];
    while (stompSeen.length < texts.length)
      stompSeen.push(await gossipInbox.next((d) => d.body.message_type === "MESSAGE"));

    const seqs = nativeSeen.map((m) => m.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // The Gossip id is numeric; Parley's own id travels in its header.
    expect(stompSeen.map((d) => d.headers["parley-message-id"])).toEqual(nativeSeen.map((m) => m.id));
    expect(stompSeen.every((d) => NUMERIC_ID.test(String(d.body.message_id)))).toBe(true);
    expect(stompSeen.map((d) => d.body.message)).toEqual(nativeSeen.map((m) => m.text));
    expect(new Set(stompSeen.map((d) => d.body.message))).toEqual(
      new Set(texts.map((t, i) => `${i % 2 === 0 ? "stomp" : "native"} ${t}`)),
    );

    const fromStomp = nativeSeen.find((m) => m.text === "stomp one");
    expect(fromStomp).toMatchObject({ sender: { id: viewer.id, name: viewer.username }, type: "text" });
    const fromNative = stompSeen.find(byText("native two"));
    expect(fromNative?.body.user).toEqual({ id: owner.id, username: owner.username, avatar: null });
  });

  it("serves every room of its user on one socket at /v1/stomp, an all-digit channel key included", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const lettered = await liveRoom(owner);
    // Gossip channel keys may be all digits: such a key is its room's number too (docs/http-api.md).
    const digits = String(700_000 + Math.floor(Math.random() * 99_999));
    const numbered = await liveRoom(owner, { key: digits });
    expect(numbered).toBe(digits);
    const byNumber = await api<{ room: { key: string; number: number } }>(
      "GET",
      `/v1/rooms/${digits}`,
      owner.token,
    );
    expect(byNumber.body.room).toMatchObject({ key: digits, number: Number(digits) });
    const other = await api<{ room: { number: number } }>("GET", `/v1/rooms/${lettered}`, owner.token);
    const otherByNumber = await api<{ room: { key: string } }>(
      "GET",
      `/v1/rooms/${other.body.room.number}`,
      owner.token,
    );
    expect(otherByNumber.body.room.key).toBe(lettered);

    const hostLettered = await connect(lettered, owner);
    const hostNumbered = await connect(numbered, owner);
    const letteredInbox = await hostLettered.subscribe(chatTopic(lettered));
    const numberedInbox = await hostNumbered.subscribe(chatTopic(numbered));

    const gossip = await GossipClient.connect({ room: lettered, user: viewer, brokerURL: userStompUrl() });
    open.push(gossip);
    expect(gossip.connects.items[0]?.headers["user-name"]).toBe(viewer.id);
    const mineLettered = await gossip.subscribe(chatTopic(lettered));
    const mineNumbered = await gossip.subscribe(chatTopic(numbered));
    expect((await letteredInbox.next(ofMessageType("JOIN"))).body.user).toMatchObject({ id: owner.id });
    await letteredInbox.next(
      (d) => ofMessageType("JOIN")(d) && (d.body.user as { id: string }).id === viewer.id,
    );

    await gossip.send(gossip.message("to the lettered room"));
    await gossip.send(gossip.message("to the numbered room", { channel_key: numbered }));
    const atHost = await numberedInbox.next(byText("to the numbered room"));
    expect(atHost.headers.destination).toBe(chatTopic(numbered));
    expect(atHost.body).toMatchObject({ channel_key: numbered, user: { id: viewer.id } });
    await letteredInbox.next(byText("to the lettered room"));
    expect((await mineNumbered.next(byText("to the numbered room"))).body.message_id).toBe(
      atHost.body.message_id,
    );
    await mineLettered.next(byText("to the lettered room"));
    expect(letteredInbox.items.some(byText("to the numbered room"))).toBe(false);

    // The room-scoped endpoint serves the all-digit key too.
    const direct = await GossipClient.connect({
      room: numbered,
      user: viewer,
      brokerURL: stompUrl(numbered),
    });
    open.push(direct);
    const directInbox = await direct.subscribe(chatTopic(numbered));
    await direct.send(direct.message("on the room socket"));
    await directInbox.next(byText("on the room socket"));
    await numberedInbox.next(byText("on the room socket"));
  });

  it("refuses another user's DM topic on the user socket with ERROR, then 4012", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    const gossip = await GossipClient.connect({ room, user: viewer, brokerURL: userStompUrl() });
    open.push(gossip);
    gossip.client.subscribe(dmTopic(room, owner.id), () => undefined);
    const error = await gossip.errors.next();
    expect(error.headers.message).toMatch(/cannot subscribe/);
    expect(error.body).toBe("forbidden");
    expect((await gossip.closes.next()).code).toBe(4012);
  });

  it("accepts a token on the upgrade and the same user's CONNECT token, on both endpoints", async () => {
    const [owner, viewer] = await users("owner", "viewer");
    const room = await liveRoom(owner);
    for (const url of [stompUrl(room), userStompUrl()]) {
      const brokerURL = `${url}?token=${encodeURIComponent(viewer.token)}`;
      const gossip = await GossipClient.connect({ room, user: viewer, brokerURL });
      open.push(gossip);
      expect(gossip.connects.items[0]?.headers["user-name"]).toBe(viewer.id);
      const inbox = await gossip.subscribe(chatTopic(room));
      await gossip.send(gossip.message(`twice via ${url}`));
      await inbox.next(byText(`twice via ${url}`));
    }
  });
});
