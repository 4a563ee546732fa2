import type { Command, FollowScope } from "../domain/commands";
import { fail, type Outcome } from "../domain/errors";
import type { Profile } from "../domain/model";

/** A socket's session, kept in its attachment so it survives hibernation. */
export interface Session {
  sid: string;
  /** The dialect's registry name. */
  dialect: string;
  /** Null until authenticated (first-frame auth). */
  user: Profile | null;
  /**
   * How the session authenticated: with the token on the upgrade, or in a frame. A frame naming the same user
   * is accepted once after an upgrade token (clients that send both); a second frame auth is refused.
   */
  authenticatedBy: "upgrade" | "frame" | null;
  /** When the session's token expires (ms since the epoch), or null when it carries no expiry. */
  expiresAt: number | null;
  /** The room a room-scoped socket's URL names. */
  room: string | null;
  /** The subprotocol echoed at the upgrade, null for none. */
  protocol: string | null;
  /** The dialect's own state. */
  state: unknown;
  /** Subscribed rooms (followed with presence) → the last seq already sent to this socket when it subscribed. */
  subs: Record<string, number>;
  /** What the session follows besides its subscribed rooms. */
  follows: FollowScope[];
  /** Peers whose online state this session watches (user-scoped sessions only). */
  watches: string[];
  connectedAt: number;
  /**
   * When the client last sent a frame and when the server last ran a heartbeat (ms), kept with the session so the
   * idle and heartbeat checks of a hibernated object judge by what really happened.
   */
  lastFrameAt: number;
  lastBeatAt: number | null;
}

/** How a socket reached its object: chosen by the Worker, which authenticated it when it could. */
export interface SocketInit {
  dialect: string;
  user: Profile | null;
  expiresAt: number | null;
  protocol: string | null;
  /**
   * A session the Worker's first-frame gate started: its id and the codec state it built before the auth frame,
   * so the owning object continues it instead of starting over (a DDP `connect` already answered).
   */
  handoff?: { sid: string; state: unknown };
  /** The id of an earlier session of this user that the socket asks to resume (the dialect's `resume`). */
  resumeSid?: string;
}

const SOCKET_INIT_HEADER = "X-Parley-Socket";

/** The Worker's upgrade request to a Durable Object, carrying how the socket is to be hosted. */
export function socketUpgrade(original: Request, init: SocketInit): Request {
  const headers = new Headers(original.headers);
  headers.set(SOCKET_INIT_HEADER, JSON.stringify(init));
  return new Request(original.url, { method: "GET", headers });
}

/** The hosting instructions of an upgrade request from the Worker, or null for anything else. */
export function readSocketUpgrade(request: Request): SocketInit | null {
  const init = JSON.parse(request.headers.get(SOCKET_INIT_HEADER) ?? "null") as SocketInit | null;
  return init && request.headers.get("Upgrade")?.toLowerCase() === "websocket" ? init : null;
}

/** Why an auth frame cannot (re)authenticate this session as `userId`, or null when it may. */
export function reauthRefusal(session: Session, userId: string): string | null {
  if (session.authenticatedBy === "frame") return "already authenticated";
  if (session.user && session.user.id !== userId) return "this socket belongs to another user";
  return null;
}

/**
 * The user an auth frame authenticates, from its token's user and what the frame adds (STOMP CONNECT's
 * `userid`, `appid`, `username`): the dialect's name fills in a token without one; a `userid` must be the
 * token's subject, and an `appid` one of `appIds` when that list is set.
 */
export function frameUser(
  command: Extract<Command, { kind: "auth" }>,
  token: Profile,
  appIds: readonly string[],
): Outcome<Profile> {
  if (command.expectUserId !== undefined && command.expectUserId !== token.id)
    return fail("invalid_token", "userid does not match the token");
  if (command.appId !== undefined && appIds.length > 0 && !appIds.includes(command.appId))
    return fail("invalid_token", "unknown appid");
  const user = token.name === null && command.name ? { ...token, name: command.name } : token;
  return { ok: true, value: user };
}

/** Whether a room event's room is one the session follows in full. */
export const followsRoom = (session: Session, room: string): boolean =>
  room in session.subs || session.follows.includes("rooms");
