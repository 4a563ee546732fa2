import { verifyChatToken } from "../auth/jwt";
import type { Close, SessionContext } from "../dialects/codec";
import { type AnyCodec, type DialectName, dialects } from "../dialects/registry";
import { CloseCode } from "../domain/close-codes";
import { closeReason } from "../domain/errors";
import { type Env, jwtConfigOf, limitsOf } from "../env";
import { userStub } from "../rooms/stubs";
import { socketUpgrade } from "../sessions/session";
import { AUTH_GRACE_MS } from "../sessions/timers";

/**
 * A user-scoped socket without a token on the upgrade: which user object owns it is known only once a frame
 * authenticates. The Worker accepts it and runs each frame through the dialect's codec until one is a valid auth;
 * frames before that are answered here (a DDP `connect`). It then opens the socket to the user's object, handing
 * over the session id and the codec state built so far, so the object continues the same session: it re-runs the
 * auth frame through its codec and answers it. Frames are then relayed both ways. A refused frame closes the
 * socket unless the dialect lets a client retry (`Codec.retriesAuth`), and so does `AUTH_GRACE_MS` without auth.
 */
export function gateFirstFrame(
  env: Env,
  request: Request,
  dialect: DialectName,
  protocol: string | null,
): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  const codec: AnyCodec = dialects[dialect];
  const ctx: SessionContext = {
    sessionId: crypto.randomUUID(),
    user: null,
    room: null,
    maxFrameBytes: limitsOf(env).maxFrameBytes,
    now: () => new Date(),
    roomInfo: () => null,
  };
  let state: unknown = codec.initialState(ctx);
  let upstream: WebSocket | null = null;
  /** Frames not yet relayed: the one being checked first, then those that arrived meanwhile. */
  const waiting: (string | ArrayBuffer)[] = [];
  let checking = false;
  let ended = false;
  let expired = false;

  const send = (frames: string[]) => {
    for (const frame of frames) server.send(frame);
  };
  const end = (close: Close) => {
    ended = true;
    send(codec.closeFrames?.(state, close, ctx) ?? []);
    safeClose(server, close.code, close.reason);
  };
  const refuse = (frames: string[], close: Close | undefined, fallback: Close) => {
    send(frames);
    const ending = close ?? (codec.retriesAuth ? undefined : fallback);
    if (ending) end(ending);
  };

  /** Opens the user's session when `first` authenticates; otherwise answers it as the codec says. */
  const open = async (first: string | ArrayBuffer) => {
    const before = state;
    const decoded = codec.decode(state, first, ctx);
    state = decoded.state;
    const auth = decoded.commands.find((t) => t.command.kind === "auth");
    if (auth?.command.kind !== "auth") {
      if (decoded.commands.length === 0 && !decoded.close) return send(decoded.replies);
      refuse(decoded.replies, decoded.close, { code: CloseCode.NoAuthToken, reason: "authenticate first" });
      return;
    }
    const identity = await verifyChatToken(jwtConfigOf(env), auth.command.token);
    if (!identity.ok) {
      const answer = codec.encodeOutcome(state, auth.tag, auth.command, identity, ctx);
      state = answer.state;
      refuse(answer.frames, answer.close, { code: CloseCode.InvalidToken, reason: "invalid token" });
      return;
    }
    const init = {
      dialect,
      user: null,
      expiresAt: null,
      protocol,
      handoff: { sid: ctx.sessionId, state: before },
    };
    const response = await userStub(env, identity.value.user.id).fetch(socketUpgrade(request, init));
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
  if (codec.open) {
    const opened = codec.open(state, ctx);
    state = opened.state;
    send(opened.frames);
  }
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
  });
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, closeReason(reason));
  } catch {
    // Already closed.
  }
}
