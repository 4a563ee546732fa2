import { type Context, Hono } from "hono";
import { tokenFromRequest } from "../auth/jwt";
import { verifyDialectToken } from "../dialects/codec";
import { type AnyCodec, type DialectName, dialectNames, dialects } from "../dialects/registry";
import { CloseCode } from "../domain/close-codes";
import { closeFor, closeReason } from "../domain/errors";
import type { Profile } from "../domain/model";
import { type Env, listVar } from "../env";
import { roomStub, userStub } from "../rooms/stubs";
import { socketUpgrade } from "../sessions/session";
import { banMessage, banOf } from "../storage/bans";
import { resolveRoomRef } from "../storage/room-index";
import { errorResponse } from "./errors";
import { gateFirstFrame } from "./gate";

type Ctx = Context<{ Bindings: Env }>;

/**
 * WebSocket upgrades, one route per endpoint each dialect declares. The Worker authenticates what it can (a
 * token in the Authorization header, `?token=`, or a token subprotocol) and hands the socket to the object
 * that will own it. Sockets that authenticate in their first frame go to their room's object when the URL names
 * the room; user-scoped ones are held by the first-frame gate until a frame names the user.
 */
export const socketRoutes = new Hono<{ Bindings: Env }>();

for (const name of dialectNames) {
  for (const endpoint of dialects[name].endpoints) {
    socketRoutes.get(endpoint.path, async (c, next) => {
      // A plain GET of a path some dialect shares with a page (Swappart's `/`) falls through to it.
      if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
        if (endpoint.path === "/") return next();
        return errorResponse({ code: "bad_request", message: "expected a WebSocket upgrade" }, 426);
      }
      return endpoint.scope === "room" ? roomSocket(c, name) : userSocket(c, name);
    });
  }
}

function offeredProtocols(request: Request): string[] {
  return (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * Accepts the socket here only to close it at once: how WebSocket clients learn why. The chosen subprotocol is
 * echoed, or a client that offered one fails the handshake before it can read the close; the dialect's parting
 * frames (a Swappart `Disconnection`, an ActionCable `disconnect`) go first.
 */
function closeAtOnce(codec: AnyCodec, protocol: string | null, code: number, reason: string): Response {
  const pair = new WebSocketPair();
  const server = pair[1];
  server.accept();
  const close = { code, reason: closeReason(reason) };
  if (codec.closeFrames) {
    const ctx = {
      sessionId: crypto.randomUUID(),
      user: null,
      room: null,
      subprotocol: protocol,
      maxFrameBytes: 0,
      now: () => new Date(),
      roomInfo: () => null,
    };
    for (const frame of codec.closeFrames(codec.initialState(ctx), close, ctx)) server.send(frame);
  }
  server.close(close.code, close.reason);
  return new Response(null, {
    status: 101,
    webSocket: pair[0],
    headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
  });
}

interface Upgrade {
  codec: AnyCodec;
  protocol: string | null;
  /** The user a token on the upgrade names, null when there is none. */
  user: Profile | null;
  expiresAt: number | null;
}

/**
 * What every upgrade settles first: the subprotocol, and the token on the upgrade if any (or the refusal): no
 * token where the dialect needs one is 4001, a refused token 4002, a verifier that could not run (an unreachable
 * key set) 4006, and a user banned from the service 4005.
 */
async function negotiate(c: Ctx, name: DialectName): Promise<Upgrade | Response> {
  const codec: AnyCodec = dialects[name];
  const offered = offeredProtocols(c.req.raw);
  const protocol = codec.chooseSubprotocol(offered);
  if (protocol === false)
    return errorResponse({ code: "bad_request", message: `${name} does not speak ${offered.join(", ")}` });
  if (!originAllowed(c.req.header("Origin") ?? null, listVar(c.env.SOCKET_ORIGINS)))
    return closeAtOnce(codec, protocol, CloseCode.UnauthorizedAction, "origin not allowed");
  const token = tokenFromRequest(c.req.raw) ?? codec.tokenFromSubprotocols?.(offered) ?? null;
  if (!token) {
    if (codec.auth === "url")
      return closeAtOnce(codec, protocol, CloseCode.NoAuthToken, "a token is required");
    return { codec, protocol, user: null, expiresAt: null };
  }
  const identity = await verifyDialectToken(codec, c.env, token);
  if (!identity.ok) {
    const close = closeFor(identity.error);
    return closeAtOnce(codec, protocol, close.code, close.reason);
  }
  const ban = await banOf(c.env.DB, identity.value.user.id);
  if (ban) return closeAtOnce(codec, protocol, CloseCode.Banned, banMessage(ban));
  return { codec, protocol, user: identity.value.user, expiresAt: identity.value.expiresAt * 1000 };
}

/**
 * Browsers send the page's Origin on every upgrade and cannot forge it; with an allow-list set, only those
 * origins may open sockets. Clients that send none (servers, apps) are not browsers acting for another page.
 */
export function originAllowed(origin: string | null, allowed: readonly string[]): boolean {
  return allowed.length === 0 || origin === null || allowed.includes(origin);
}

/** The earlier session the upgrade asks to resume, for dialects that resume (query parameter, else header). */
function resumeSidOf(c: Ctx, codec: AnyCodec): string | undefined {
  if (!codec.resume) return undefined;
  const sid = c.req.query(codec.resume.param) ?? c.req.header(codec.resume.header);
  return sid ? sid.slice(0, MAX_SESSION_ID_CHARS) : undefined;
}

const MAX_SESSION_ID_CHARS = 64;

async function roomSocket(c: Ctx, name: DialectName): Promise<Response> {
  const upgrade = await negotiate(c, name);
  if (upgrade instanceof Response) return upgrade;
  const key = await resolveRoomRef(c.env.DB, c.req.param("room") ?? "");
  if (!key) return errorResponse({ code: "not_found", message: "room not found" });
  const { protocol, user, expiresAt } = upgrade;
  return roomStub(c.env, key).fetch(socketUpgrade(c.req.raw, { dialect: name, user, expiresAt, protocol }));
}

async function userSocket(c: Ctx, name: DialectName): Promise<Response> {
  const upgrade = await negotiate(c, name);
  if (upgrade instanceof Response) return upgrade;
  const { codec, protocol, user, expiresAt } = upgrade;
  const resumeSid = resumeSidOf(c, codec);
  if (user)
    return userStub(c.env, user.id).fetch(
      socketUpgrade(c.req.raw, {
        dialect: name,
        user,
        expiresAt,
        protocol,
        ...(resumeSid ? { resumeSid } : {}),
      }),
    );
  return gateFirstFrame(c.env, c.req.raw, name, protocol);
}
