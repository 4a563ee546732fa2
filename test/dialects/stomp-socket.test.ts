import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../src/domain/close-codes";
import { makeRoom } from "../helpers/rooms";
import { tokenFor } from "../helpers/tokens";

/**
 * The room-scoped STOMP socket (`GET /v1/rooms/{channelKey}/stomp`) inside workerd, driven with raw frames:
 * subprotocols, the wire grammar across WebSocket messages, and every refusal (ERROR, then close), after which
 * the room keeps serving its other sockets. Then the user-scoped one (`GET /v1/stomp`), and all-digit keys.
 */

const OFFERED = ["v12.stomp", "v11.stomp", "v10.stomp"];

interface Frame {
  command: string;
  headers: Record<string, string>;
  body: string;
}

/** Server frames, read independently of the server's own parser; a bare EOL is a heart-beat. */
function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === "\n") {
      frames.push({ command: "HEARTBEAT", headers: {}, body: "" });
      at++;
      continue;
    }
    const headEnd = text.indexOf("\n\n", at);
    const nul = text.indexOf("\0", headEnd);
    if (headEnd === -1 || nul === -1)
      throw new Error(`unterminated frame: ${JSON.stringify(text.slice(at))}`);
    const [command = "", ...lines] = text.slice(at, headEnd).split("\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1);
      if (!(name in headers))
        headers[name] =
          command === "CONNECTED"
            ? value
            : value.replace(/\\([rnc\\])/g, (_, c: string) => ({ r: "\r", n: "\n", c: ":" })[c] ?? "\\");
    }
    frames.push({ command, headers, body: text.slice(headEnd + 2, nul) });
    at = nul + 1;
  }
  return frames;
}

interface StompSocket {
  response: Response;
  ws: WebSocket;
  /** Every WebSocket message received, as text. */
  messages: string[];
  frames: Frame[];
  next(match?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  send(data: string | ArrayBuffer): void;
  closed: Promise<{ code: number; reason: string }>;
}

/** The room socket of `room`, or the user socket when `room` is null; `token` goes on the upgrade. */
async function openStomp(
  room: string | null,
  protocols: string[] = OFFERED,
  token?: string,
): Promise<StompSocket> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
  if (token) headers.Authorization = `Bearer ${token}`;
  const path = room === null ? "/v1/stomp" : `/v1/rooms/${encodeURIComponent(room)}/stomp`;
  const response = await SELF.fetch(`https://parley.test${path}`, { headers });
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${response.status} ${await response.text()}`);
  ws.accept();
  const messages: string[] = [];
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  ws.addEventListener("message", (e) => {
    const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    messages.push(text);
    frames.push(...parseFrames(text));
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (e) => {
      resolve({ code: e.code, reason: e.reason });
      wake();
    }),
  );
  let read = 0;
  return {
    response,
    ws,
    messages,
    frames,
    send: (data) => ws.send(data),
    closed,
    async next(match = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (read < frames.length) {
          const frame = frames[read++] as Frame;
          if (match(frame)) return frame;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching frame; got ${JSON.stringify(frames).slice(0, 2000)}`);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, left);
          waiters.add(done);
        });
      }
    },
  };
}

/** A frame as a client writes it. Header values are taken as already escaped. */
function frame(command: string, headers: Record<string, string> = {}, body = ""): string {
  const lines = [command, ...Object.entries(headers).map(([k, v]) => `${k}:${v}`)];
  return `${lines.join("\n")}\n\n${body}\0`;
}

const connectFrame = (token: string, extra: Record<string, string> = {}) =>
  frame("CONNECT", { "accept-version": "1.2,1.1,1.0", "heart-beat": "10000,10000", token, ...extra });

const is =
  (command: string) =>
  (f: Frame): boolean =>
    f.command === command;

async function connected(room: string, userId: string): Promise<StompSocket> {
  const socket = await openStomp(room);
  socket.send(connectFrame(await tokenFor(userId, { name: `Name ${userId}` })));
  await socket.next(is("CONNECTED"));
  return socket;
}

async function subscribed(room: string, userId: string): Promise<StompSocket> {
  const socket = await connected(room, userId);
  socket.send(frame("SUBSCRIBE", { id: "chat", destination: `/topic/chat/${room}`, receipt: "sub" }));
  await socket.next(is("RECEIPT"));
  return socket;
}

const chat = (room: string, user: string, message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ channel_key: room, user: { id: user }, message_type: "MESSAGE", message, ...extra });

const bodyOf = (f: Frame) => JSON.parse(f.body) as Record<string, unknown>;
const withText = (text: string) => (f: Frame) => f.command === "MESSAGE" && bodyOf(f).message === text;

/** The observer sends and receives a fresh message: the room's object still serves the room. */
async function stillServes(observer: StompSocket, room: string, user: string, text: string): Promise<void> {
  observer.send(
    frame("SEND", { destination: "/app/chat", "content-type": "application/json" }, chat(room, user, text)),
  );
  await observer.next(withText(text));
}

async function expectRefusal(
  socket: StompSocket,
  code: number,
  body: string,
  message: RegExp,
): Promise<Frame> {
  const error = await socket.next(is("ERROR"));
  expect(error.headers.message).toMatch(message);
  expect(error.headers["content-type"]).toBe("text/plain");
  expect(error.body).toBe(body);
  expect((await socket.closed).code).toBe(code);
  return error;
}

describe("the room-scoped STOMP socket", () => {
  it("echoes the best STOMP subprotocol the client offered, and none when it offered none", async () => {
    await makeRoom("ss-proto", "owner", [], "live");
    const cases: [string[], string | null][] = [
      [["v10.stomp", "v11.stomp", "v12.stomp"], "v12.stomp"],
      [["v11.stomp", "v10.stomp"], "v11.stomp"],
      [["v10.stomp"], "v10.stomp"],
      [["mqtt", "v11.stomp"], "v11.stomp"],
      [[], null],
    ];
    for (const [offered, expected] of cases) {
      const socket = await openStomp("ss-proto", offered);
      expect(socket.response.status).toBe(101);
      expect(socket.response.headers.get("Sec-WebSocket-Protocol")).toBe(expected);
      socket.ws.close();
    }
  });

  it("answers a missing room with 404 and a plain GET with 426", async () => {
    const missing = await SELF.fetch("https://parley.test/v1/rooms/ss-nowhere/stomp", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "v12.stomp" },
    });
    expect(missing.status).toBe(404);
    await makeRoom("ss-plain", "owner", [], "live");
    expect((await SELF.fetch("https://parley.test/v1/rooms/ss-plain/stomp")).status).toBe(426);
  });

  it("reassembles a frame split across messages and reads several frames, with heart-beats, from one", async () => {
    await makeRoom("ss-wire", "owner", [], "live");
    const socket = await openStomp("ss-wire");
    const connect = connectFrame(await tokenFor("wire-user"));
    socket.send(connect.slice(0, 5));
    socket.send(connect.slice(5, 40));
    socket.send(connect.slice(40));
    const hello = await socket.next(is("CONNECTED"));
    expect(hello.headers).toMatchObject({
      version: "1.2",
      "heart-beat": "0,10000",
      "user-name": "wire-user",
    });

    const send = (text: string, receipt: string) =>
      frame(
        "SEND",
        { destination: "/app/chat", "content-type": "application/json", receipt },
        chat("ss-wire", "wire-user", text),
      );
    socket.send(
      [
        "\n",
        frame("SUBSCRIBE", { id: "s-1", destination: "/topic/chat/ss-wire", receipt: "r-sub" }),
        "\r\n\n",
        send("first of a batch", "r-1"),
        send("second of a batch", "r-2"),
        "\n",
      ].join(""),
    );
    const receipts = [await socket.next(is("RECEIPT")), await socket.next(is("RECEIPT"))];
    expect(receipts.map((r) => r.headers["receipt-id"])).toEqual(["r-sub", "r-1"]);
    await socket.next(withText("first of a batch"));
    await socket.next(withText("second of a batch"));
    expect(socket.frames.filter(is("RECEIPT")).map((r) => r.headers["receipt-id"])).toContain("r-2");

    // CRLF line ends, a declared content-length, and one character split across two binary messages.
    const text = "grüße ✓";
    const body = chat("ss-wire", "wire-user", text);
    const bytes = new TextEncoder().encode(
      `SEND\r\ndestination:/app/chat\r\ncontent-length:${new TextEncoder().encode(body).length}\r\n\r\n${body}\0`,
    );
    const cut = bytes.indexOf(0xc3) + 1;
    socket.send(bytes.slice(0, cut).buffer);
    socket.send(bytes.slice(cut).buffer);
    const delivered = await socket.next(withText(text));
    expect(delivered.headers).toMatchObject({
      destination: "/topic/chat/ss-wire",
      subscription: "s-1",
      "content-type": "application/json",
      "content-length": String(new TextEncoder().encode(delivered.body).length),
    });
    expect(delivered.headers["message-id"]).toBe(bodyOf(delivered).message_id);
  });

  it("unescapes 1.2 headers, so a channel key may hold colons, and escapes the headers it sends", async () => {
    const room = "ss:colon:room";
    await makeRoom(room, "owner", [], "live");
    const socket = await connected(room, "colon-user");
    socket.send(
      frame("SUBSCRIBE", { id: "a\\cb", destination: "/topic/chat/ss\\ccolon\\croom", receipt: "x" }),
    );
    await socket.next(is("RECEIPT"));
    socket.send(frame("SEND", { destination: "/app/chat" }, chat(room, "colon-user", "colons")));
    const message = await socket.next(withText("colons"));
    expect(message.headers.destination).toBe("/topic/chat/ss:colon:room");
    expect(message.headers.subscription).toBe("a:b");
    expect(socket.messages.some((m) => m.includes("destination:/topic/chat/ss\\ccolon\\croom"))).toBe(true);
  });

  it("echoes heart-beats, receipts DISCONNECT and closes with 1000", async () => {
    await makeRoom("ss-beat", "owner", [], "live");
    const socket = await connected("ss-beat", "beat-user");
    socket.send("\n");
    await socket.next(is("HEARTBEAT"));
    socket.send(frame("DISCONNECT", { receipt: "bye" }));
    expect((await socket.next(is("RECEIPT"))).headers["receipt-id"]).toBe("bye");
    expect(await socket.closed).toMatchObject({ code: 1000 });
  });

  it("completes a close the client starts", async () => {
    await makeRoom("ss-close", "owner", [], "live");
    const socket = await subscribed("ss-close", "closing-user");
    socket.ws.close(1000, "leaving");
    expect(await socket.closed).toMatchObject({ code: 1000 });
  });

  describe("refusals: ERROR with a message header, then close, while the room keeps serving", () => {
    const room = "ss-refusals";
    let observer: StompSocket;

    const fresh = () => openStomp(room);
    const connectedFresh = (user: string) => connected(room, user);

    it("sets up a room with an observer", async () => {
      await makeRoom(room, "owner", [], "live");
      observer = await subscribed(room, "observer");
      await stillServes(observer, room, "observer", "ready");
    });

    it("refuses any frame before CONNECT with 4001", async () => {
      const socket = await fresh();
      socket.send(frame("SUBSCRIBE", { id: "s", destination: `/topic/chat/${room}` }));
      await expectRefusal(socket, CloseCode.NoAuthToken, "unauthorized", /CONNECT first/);
      await stillServes(observer, room, "observer", "after frame before connect");
    });

    it("refuses a bad token with 4002 and a CONNECT without token with 4001", async () => {
      const bad = await fresh();
      bad.send(connectFrame("not-a-token"));
      await expectRefusal(bad, CloseCode.InvalidToken, "invalid_token", /\S/);
      const none = await fresh();
      none.send(frame("CONNECT", { "accept-version": "1.2" }));
      await expectRefusal(none, CloseCode.NoAuthToken, "unauthorized", /token/);
      await stillServes(observer, room, "observer", "after bad tokens");
    });

    it("refuses an undefined escape sequence with 4010", async () => {
      const socket = await connectedFresh("escape-user");
      socket.send(frame("SUBSCRIBE", { id: "a\\tb", destination: `/topic/chat/${room}` }));
      await expectRefusal(socket, CloseCode.BadMessageStructure, "bad_request", /escape/);
      await stillServes(observer, room, "observer", "after bad escape");
    });

    it("refuses an unknown command, before and after CONNECT, with 4010", async () => {
      const early = await fresh();
      early.send(frame("HELLO"));
      await expectRefusal(early, CloseCode.BadMessageStructure, "bad_request", /unknown command HELLO/);
      const late = await connectedFresh("unknown-user");
      late.send(frame("send", { destination: "/app/chat" }, "{}"));
      await expectRefusal(late, CloseCode.BadMessageStructure, "bad_request", /unknown command send/);
      await stillServes(observer, room, "observer", "after unknown commands");
    });

    it("refuses a frame whose body is not terminated by NUL with 4010", async () => {
      const socket = await connectedFresh("nul-user");
      socket.send(`SEND\ndestination:/app/chat\ncontent-length:2\n\n{}X`);
      await expectRefusal(socket, CloseCode.BadMessageStructure, "bad_request", /not terminated by NUL/);
      await stillServes(observer, room, "observer", "after missing NUL");
    });

    it("refuses oversize frames, declared, whole or split, with 4010", async () => {
      const declared = await connectedFresh("big-1");
      declared.send("SEND\ndestination:/app/chat\ncontent-length:70000\n\n");
      await expectRefusal(declared, CloseCode.BadMessageStructure, "payload_too_large", /larger than/);

      const whole = await connectedFresh("big-2");
      whole.send(frame("SEND", { destination: "/app/chat" }, chat(room, "big-2", "x".repeat(70_000))));
      await expectRefusal(whole, CloseCode.BadMessageStructure, "payload_too_large", /larger than/);

      const split = await connectedFresh("big-3");
      split.send(`SEND\ndestination:/app/chat\n\n${"y".repeat(7000)}`);
      await expectRefusal(split, CloseCode.BadMessageStructure, "payload_too_large", /split across/);
      await stillServes(observer, room, "observer", "after oversize frames");
    });

    it("refuses forbidden destinations with 4012", async () => {
      const destinations = [`/topic/chat/another-room`, `/topic/dm/${room}/user/observer`, "/queue/anything"];
      for (const destination of destinations) {
        const socket = await connectedFresh("curious");
        socket.send(frame("SUBSCRIBE", { id: "s", destination, receipt: "r-forbidden" }));
        const error = await expectRefusal(
          socket,
          CloseCode.UnauthorizedAction,
          "forbidden",
          /cannot subscribe/,
        );
        expect(error.headers["receipt-id"]).toBe("r-forbidden");
      }
      const sender = await connectedFresh("curious");
      sender.send(frame("SEND", { destination: "/app/elsewhere" }, chat(room, "curious", "hi")));
      await expectRefusal(
        sender,
        CloseCode.UnauthorizedAction,
        "forbidden",
        /cannot send to \/app\/elsewhere/,
      );
      const impostor = await connectedFresh("curious");
      impostor.send(frame("SEND", { destination: "/app/chat" }, chat(room, "observer", "as someone else")));
      await expectRefusal(impostor, CloseCode.UnauthorizedAction, "forbidden", /user\.id/);
      await stillServes(observer, room, "observer", "after forbidden destinations");
      expect(observer.frames.some(withText("as someone else"))).toBe(false);
    });

    it("refuses a second CONNECT, no common version, ACK and a message the room refuses, with 4010", async () => {
      const twice = await connectedFresh("twice");
      twice.send(connectFrame(await tokenFor("twice")));
      await expectRefusal(twice, CloseCode.BadMessageStructure, "bad_request", /already connected/);

      const future = await fresh();
      future.send(frame("CONNECT", { "accept-version": "2.0", token: await tokenFor("future") }));
      const error = await expectRefusal(future, CloseCode.BadMessageStructure, "bad_request", /version/);
      expect(error.headers.version).toBe("1.2,1.1,1.0");

      const acker = await connectedFresh("acker");
      acker.send(frame("ACK", { id: "1" }));
      await expectRefusal(acker, CloseCode.BadMessageStructure, "bad_request", /acknowledgements/);

      const long = await connectedFresh("long");
      long.send(
        frame("SEND", { destination: "/app/chat", receipt: "r-long" }, chat(room, "long", "z".repeat(8001))),
      );
      const refused = await expectRefusal(long, CloseCode.BadMessageStructure, "payload_too_large", /\S/);
      expect(refused.headers["receipt-id"]).toBe("r-long");
      await stillServes(observer, room, "observer", "after protocol errors");
    });

    it("drops the frames decoded before a refused one in the same message", async () => {
      const socket = await connectedFresh("batcher");
      socket.send(
        frame("SEND", { destination: "/app/chat" }, chat(room, "batcher", "never delivered")) +
          frame("BOGUS"),
      );
      await expectRefusal(socket, CloseCode.BadMessageStructure, "bad_request", /unknown command BOGUS/);
      await stillServes(observer, room, "observer", "after a refused batch");
      expect(observer.frames.some(withText("never delivered"))).toBe(false);
    });

    it("kept the observer's connection open throughout", async () => {
      let closed = false;
      void observer.closed.then(() => {
        closed = true;
      });
      await stillServes(observer, room, "observer", "still here");
      expect(closed).toBe(false);
    });
  });
});

/** A STOMP user socket (`/v1/stomp`) that authenticated in its CONNECT frame, through the first-frame gate. */
async function userSocket(userId: string, extra: Record<string, string> = {}): Promise<StompSocket> {
  const socket = await openStomp(null);
  socket.send(connectFrame(await tokenFor(userId, { name: `Name ${userId}` }), { userid: userId, ...extra }));
  await socket.next(is("CONNECTED"));
  return socket;
}

/** A chat message from us-user in either of the rooms of the user-socket test. */
const isMessageOfUs = (f: Frame) => withText("to the live room")(f) || withText("to the group")(f);

async function subscribe(socket: StompSocket, id: string, destination: string): Promise<void> {
  socket.send(frame("SUBSCRIBE", { id, destination, receipt: `r-${id}` }));
  const receipt = await socket.next((f) => is("RECEIPT")(f) || is("ERROR")(f));
  expect(receipt.headers["receipt-id"]).toBe(`r-${id}`);
  expect(receipt.command).toBe("RECEIPT");
}

const sendTo = (room: string, user: string, text: string, receipt: string, receiver?: string) =>
  frame(
    "SEND",
    {
      destination: receiver ? "/app/dm" : "/app/chat",
      "content-type": "application/json",
      receipt,
      ...(receiver ? { receiver } : {}),
    },
    chat(room, user, text, receiver ? { message_type: "DM" } : {}),
  );

const occupancyOf = (type: "JOIN" | "LEAVE", userId: string) => (f: Frame) =>
  f.command === "MESSAGE" &&
  bodyOf(f).message_type === type &&
  (bodyOf(f).user as { id: string }).id === userId;

describe("the user-scoped STOMP socket", () => {
  it("serves every room of its user on one socket: destinations and channel keys name the room", async () => {
    await makeRoom("us-live", "us-owner", [], "live");
    await makeRoom("us-group", "us-owner", ["us-user"]);
    const observer = await subscribed("us-live", "us-observer");
    const socket = await userSocket("us-user");
    await subscribe(socket, "live", "/topic/chat/us-live");
    await subscribe(socket, "group", "/topic/chat/us-group");
    await observer.next(occupancyOf("JOIN", "us-user"));

    socket.send(sendTo("us-live", "us-user", "to the live room", "r-1"));
    socket.send(sendTo("us-group", "us-user", "to the group", "r-2"));
    // Two rooms are two logs: their messages may reach the socket in either order.
    const [first, second] = [await socket.next(isMessageOfUs), await socket.next(isMessageOfUs)] as [
      Frame,
      Frame,
    ];
    const [inLive, inGroup] = withText("to the live room")(first) ? [first, second] : [second, first];
    expect(inLive.headers).toMatchObject({ destination: "/topic/chat/us-live", subscription: "live" });
    expect(inGroup.headers).toMatchObject({ destination: "/topic/chat/us-group", subscription: "group" });
    expect(bodyOf(inGroup)).toMatchObject({ channel_key: "us-group", user: { id: "us-user" } });
    expect(inLive.headers["message-id"]).toMatch(/^\d{19}$/);
    // The room socket of the same room sees the same message under the same ids.
    const seen = await observer.next(withText("to the live room"));
    expect(seen.headers["message-id"]).toBe(inLive.headers["message-id"]);
    expect(seen.headers["parley-message-id"]).toBe(inLive.headers["parley-message-id"]);
    expect(socket.frames.filter(is("RECEIPT")).map((f) => f.headers["receipt-id"])).toEqual(
      expect.arrayContaining(["r-1", "r-2"]),
    );

    socket.send(frame("DISCONNECT", { receipt: "bye" }));
    await socket.closed;
    await observer.next(occupancyOf("LEAVE", "us-user"));
  });

  it("refuses a room the user may not take part in, and another user's DM topic, with ERROR", async () => {
    await makeRoom("us-private", "us-owner", ["us-member"]);
    const outsider = await userSocket("us-outsider");
    outsider.send(frame("SUBSCRIBE", { id: "s", destination: "/topic/chat/us-private", receipt: "r" }));
    const refused = await expectRefusal(outsider, CloseCode.UnauthorizedAction, "forbidden", /\S/);
    expect(refused.headers["receipt-id"]).toBe("r");

    await makeRoom("us-dm-room", "us-owner", [], "live");
    const peeker = await userSocket("us-peeker");
    peeker.send(frame("SUBSCRIBE", { id: "s", destination: "/topic/dm/us-dm-room/user/us-owner" }));
    await expectRefusal(peeker, CloseCode.UnauthorizedAction, "forbidden", /cannot subscribe/);
  });

  it("checks CONNECT's userid against the token, as the room socket does", async () => {
    const socket = await openStomp(null);
    socket.send(connectFrame(await tokenFor("us-real"), { userid: "us-claimed" }));
    await expectRefusal(socket, CloseCode.InvalidToken, "invalid_token", /userid does not match/);
  });

  it("delivers a DM to its receiver only: the sender gets its RECEIPT and no copy", async () => {
    await makeRoom("us-whisper", "us-owner", [], "live");
    const bob = await connected("us-whisper", "us-bob");
    await subscribe(bob, "dm", "/topic/dm/us-whisper/user/us-bob");
    const alice = await userSocket("us-alice");
    await subscribe(alice, "dm", "/topic/dm/us-whisper/user/us-alice");
    await subscribe(alice, "chat", "/topic/chat/us-whisper");

    alice.send(sendTo("us-whisper", "us-alice", "psst", "r-dm", "us-bob"));
    const atBob = await bob.next(withText("psst"));
    expect(atBob.headers.destination).toBe("/topic/dm/us-whisper/user/us-bob");
    expect(bodyOf(atBob)).toMatchObject({ message_type: "DM", user: { id: "us-alice" } });
    await alice.next((f) => is("RECEIPT")(f) && f.headers["receipt-id"] === "r-dm");
    // A chat message sent afterwards arrives; the DM never did.
    alice.send(sendTo("us-whisper", "us-alice", "after the dm", "r-after"));
    await alice.next(withText("after the dm"));
    expect(alice.frames.some(withText("psst"))).toBe(false);
  });
});

describe("a token on the upgrade and a CONNECT for the same user", () => {
  for (const scope of ["room", "user"] as const) {
    it(`is accepted on the ${scope} socket, and a CONNECT naming another user is refused`, async () => {
      const room = `tt-${scope}`;
      await makeRoom(room, "tt-owner", [], "live");
      const token = await tokenFor(`tt-${scope}-user`);
      const socket = await openStomp(scope === "room" ? room : null, OFFERED, token);
      socket.send(connectFrame(token, { userid: `tt-${scope}-user` }));
      expect((await socket.next(is("CONNECTED"))).headers["user-name"]).toBe(`tt-${scope}-user`);
      await subscribe(socket, "chat", `/topic/chat/${room}`);
      socket.send(sendTo(room, `tt-${scope}-user`, "twice is fine", "r"));
      await socket.next(withText("twice is fine"));

      const other = await openStomp(scope === "room" ? room : null, OFFERED, token);
      other.send(connectFrame(await tokenFor("tt-someone-else")));
      await expectRefusal(other, CloseCode.BadMessageStructure, "bad_request", /another user/);
    });
  }
});

describe("all-digit channel keys", () => {
  const api = async (method: string, path: string, userId: string, body?: unknown) => {
    const response = await SELF.fetch(`https://parley.test${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokenFor(userId)}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const roomOf = (answer: { body: Record<string, unknown> }) =>
    (answer.body.room ?? answer.body) as { key: string; number: number };

  it("are created, claim the number they spell, and leave numeric addressing of other rooms intact", async () => {
    const named = await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: "dk-named" });
    expect(named.status).toBe(201);
    const namedNumber = roomOf(named).number;

    const numeric = await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: "424242" });
    expect(numeric.status).toBe(201);
    expect(roomOf(numeric)).toMatchObject({ key: "424242", number: 424242 });
    expect(roomOf(await api("GET", "/v1/rooms/424242", "dk-owner"))).toMatchObject({ key: "424242" });
    expect(roomOf(await api("GET", `/v1/rooms/${namedNumber}`, "dk-owner"))).toMatchObject({
      key: "dk-named",
    });

    // The number of an existing room cannot be taken as a key, and later rooms never get a claimed number.
    const taken = await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: String(namedNumber) });
    expect(taken.status).toBe(409);
    const later = await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: "dk-later" });
    expect(roomOf(later).number).toBeGreaterThan(424242);

    // A key with a leading zero is not a number's spelling: it gets an ordinary number, and its URL is its key.
    const padded = await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: "0042" });
    expect(padded.status).toBe(201);
    expect(roomOf(padded).number).not.toBe(42);
    expect(roomOf(await api("GET", "/v1/rooms/0042", "dk-owner"))).toMatchObject({ key: "0042" });
  });

  it("work on both STOMP sockets", async () => {
    expect((await api("POST", "/v1/rooms", "dk-owner", { kind: "live", key: "515151" })).status).toBe(201);
    const onRoom = await subscribed("515151", "dk-viewer");
    const onUser = await userSocket("dk-user");
    await subscribe(onUser, "chat", "/topic/chat/515151");
    onUser.send(sendTo("515151", "dk-user", "digits", "r"));
    const seen = await onRoom.next(withText("digits"));
    expect(seen.headers.destination).toBe("/topic/chat/515151");
    expect(bodyOf(seen).channel_key).toBe("515151");
    await onUser.next(withText("digits"));
  });
});
