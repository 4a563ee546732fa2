import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../src/domain/close-codes";
import { makeRoom } from "../helpers/rooms";
import { tokenFor } from "../helpers/tokens";

/**
 * The room-scoped STOMP socket (`GET /v1/rooms/{channelKey}/stomp`) inside workerd, driven with raw frames:
 * subprotocols, the wire grammar across WebSocket messages, and every refusal (ERROR, then close), after which
 * the room keeps serving its other sockets.
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

async function openStomp(room: string, protocols: string[] = OFFERED): Promise<StompSocket> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
  const response = await SELF.fetch(`https://parley.test/v1/rooms/${encodeURIComponent(room)}/stomp`, {
    headers,
  });
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
