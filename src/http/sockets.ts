import { type Context, Hono } from "hono";
import { tokenFromRequest, verifyChatToken } from "../auth/jwt";
import type { DialectName } from "../dialects/codec";
import { NATIVE_SUBPROTOCOL } from "../dialects/native/codec";
import { codecFor } from "../dialects/registry";
import { chooseStompSubprotocol } from "../dialects/stomp/codec";
import { CloseCode } from "../domain/close-codes";
import type { Profile } from "../domain/model";
import { type Env, limitsOf } from "../env";
import { AUTH_GRACE_MS, socketUpgrade } from "../sessions/host";
import { roomKeyOfNumber } from "../storage/room-index";

type Ctx = Context<{ Bindings: Env }>;

/**
 * WebSocket upgrades. The Worker authenticates what it can (a token in the Authorization header or `?token=`)
 * and hands the socket to the Durable Object that will own it. Sockets that authenticate in their first frame
 * go to their room's object when the URL names the room; user-scoped ones are held here until that frame names
 * the user (see `gateFirstFrame`).
 */
export const socketRoutes = new Hono<{ Bindings: Env }>();

socketRoutes.get("/v1/ws", (c) => userSocket(c, "native"));
socketRoutes.get("/chat/ws", (c) => userSocket(c, "haraj"));
socketRoutes.get("/v1/rooms/:id/ws", (c) => roomSocket(c, "native"));
socketRoutes.get("/v1/rooms/:id/stomp", (c) => roomSocket(c, "stomp"));

const errorJson = (c: Ctx, status: 400 | 404 | 426, code: string, message: string) =>
  c.json({ error: { code, message } }, status);

function offeredProtocols(request: Request): string[] {
  return (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The subprotocol to echo, null for none, or false when the client offered only ones we do not speak. */
function chooseProtocol(dialect: DialectName, offered: string[]): string | null | false {
  if (offered.length === 0) return null;
  const chosen =
    dialect === "stomp"
      ? chooseStompSubprotocol(offered)
      : offered.includes(NATIVE_SUBPROTOCOL)
        ? NATIVE_SUBPROTOCOL
        : null;
  return chosen ?? (dialect === "native" ? false : null);
}

/** Accepts the socket here only to close it at once with `code`: how WebSocket clients learn why. */
function closeAtOnce(code: number, reason: string): Response {
  const pair = new WebSocketPair();
  const server = pair[1];
  server.accept();
  server.close(code, reason);
  return new Response(null, { status: 101, webSocket: pair[0] });
}

/** The user a URL token names: a profile, null when there is no token, or the close to answer with. */
async function urlIdentity(c: Ctx): Promise<Profile | null | Response> {
  const token = tokenFromRequest(c.req.raw);
  if (!token) return null;
  const identity = await verifyChatToken(c.env, token);
  return identity.ok
    ? identity.value.user
    : closeAtOnce(CloseCode.InvalidToken, identity.error.message.slice(0, 100));
}

async function roomSocket(c: Ctx, dialect: DialectName): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorJson(c, 426, "bad_request", "expected a WebSocket upgrade");
  }
  const protocol = chooseProtocol(dialect, offeredProtocols(c.req.raw));
  if (protocol === false)
    return errorJson(c, 400, "bad_request", `offer the ${NATIVE_SUBPROTOCOL} subprotocol`);
  const id = c.req.param("id") ?? "";
  const key = /^\d+$/.test(id) ? await roomKeyOfNumber(c.env.DB, Number(id)) : id;
  if (!key) return errorJson(c, 404, "not_found", "room not found");
  const user = await urlIdentity(c);
  if (user instanceof Response) return user;
  const stub = c.env.ROOMS.get(c.env.ROOMS.idFromName(key));
  return stub.fetch(socketUpgrade(c.req.raw, { dialect, user, protocol }));
}

async function userSocket(c: Ctx, dialect: DialectName): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorJson(c, 426, "bad_request", "expected a WebSocket upgrade");
  }
  const protocol = chooseProtocol(dialect, offeredProtocols(c.req.raw));
  if (protocol === false)
    return errorJson(c, 400, "bad_request", `offer the ${NATIVE_SUBPROTOCOL} subprotocol`);
  const user = await urlIdentity(c);
  if (user instanceof Response) return user;
  if (user) {
    const stub = c.env.USERS.get(c.env.USERS.idFromName(user.id));
    return stub.fetch(socketUpgrade(c.req.raw, { dialect, user, protocol }));
  }
  return gateFirstFrame(c, dialect, protocol);
}

type Close = { code: number; reason: string };

/**
 * A user-scoped socket without a URL token: which UserDO owns it is known only once a frame authenticates. The
 * Worker accepts it, runs each frame through the dialect's codec until one is a valid auth, then opens the socket
 * to the user's object (which re-runs the same auth frame through its codec and answers it) and relays frames
 * both ways. Frames before that are answered here by the codec; the socket is then closed unless the dialect
 * keeps it open (`Codec.retriesAuth`), and in any case once `AUTH_GRACE_MS` pass without authentication.
 */
function gateFirstFrame(c: Ctx, dialect: DialectName, protocol: string | null): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  const codec = codecFor(dialect);
  const ctx = {
    sessionId: crypto.randomUUID(),
    user: null,
    room: null,
    maxFrameBytes: limitsOf(c.env).maxFrameBytes,
    now: () => new Date(),
  };
  let state = codec.initialState(ctx);
  let upstream: WebSocket | null = null;
  /** Frames not yet relayed: the one being checked first, then those that arrived meanwhile. */
  const waiting: (string | ArrayBuffer)[] = [];
  let checking = false;
  let ended = false;
  let expired = false;

  const end = (close: Close) => {
    ended = true;
    safeClose(server, close.code, close.reason);
  };

  const refuse = (frames: string[], close: Close | undefined, fallback: Close) => {
    for (const frame of frames) server.send(frame);
    const ending = close ?? (codec.retriesAuth ? undefined : fallback);
    if (ending) end(ending);
  };

  /** Opens the user's session when `first` authenticates; otherwise answers it as the codec says. */
  const open = async (first: string | ArrayBuffer) => {
    const decoded = codec.decode(state, first, ctx);
    state = decoded.state;
    const auth = decoded.commands.find((t) => t.command.kind === "auth");
    if (auth?.command.kind !== "auth") {
      refuse(decoded.replies, decoded.close, { code: CloseCode.NoAuthToken, reason: "authenticate first" });
      return;
    }
    const identity = await verifyChatToken(c.env, auth.command.token);
    if (!identity.ok) {
      const answer = codec.encodeOutcome(state, auth.tag, auth.command, identity, ctx);
      state = answer.state;
      refuse(answer.frames, answer.close, { code: CloseCode.InvalidToken, reason: "invalid token" });
      return;
    }
    const stub = c.env.USERS.get(c.env.USERS.idFromName(identity.value.user.id));
    const response = await stub.fetch(socketUpgrade(c.req.raw, { dialect, user: null, protocol }));
    const socket = response.webSocket;
    if (!socket) {
      end({ code: CloseCode.ServerError, reason: "could not open the session" });
      return;
    }
    socket.accept();
    if (ended) {
      safeClose(socket, 1000, "client gone");
      return;
    }
    socket.addEventListener("message", (e) => server.send(e.data as string | ArrayBuffer));
    socket.addEventListener("close", (e) => safeClose(server, e.code, e.reason));
    socket.addEventListener("error", () => safeClose(server, CloseCode.ServerError, "session failed"));
    upstream = socket;
    clearTimeout(deadline);
    socket.send(first);
    for (const frame of waiting.splice(0)) socket.send(frame);
  };

  /** Checks waiting frames one at a time, in order, until one opens the session or the socket ends. */
  const check = async () => {
    checking = true;
    try {
      for (let next = waiting.shift(); next !== undefined && !ended; next = waiting.shift()) {
        await open(next);
        if (upstream) return;
      }
      if (expired && !upstream) end({ code: CloseCode.NoAuthToken, reason: "authentication timed out" });
    } catch (error) {
      console.error("first-frame gate failed", error);
      end({ code: CloseCode.ServerError, reason: "internal error" });
    } finally {
      checking = false;
    }
  };

  const deadline = setTimeout(() => {
    expired = true;
    if (!upstream && !checking) end({ code: CloseCode.NoAuthToken, reason: "authentication timed out" });
  }, AUTH_GRACE_MS);
  server.addEventListener("message", (e) => {
    const data = e.data as string | ArrayBuffer;
    if (upstream) return upstream.send(data);
    if (ended) return;
    waiting.push(data);
    if (!checking) void check();
  });
  server.addEventListener("close", (e) => {
    ended = true;
    clearTimeout(deadline);
    if (upstream) safeClose(upstream, e.code === 1005 ? 1000 : e.code, e.reason);
  });
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
  });
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}
