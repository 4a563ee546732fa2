import { type Identity, verifyChatToken } from "../auth/jwt";
import type { Command, CommandOutcome, FollowScope } from "../domain/commands";
import type { Outcome } from "../domain/errors";
import type { ChatEvent } from "../domain/events";
import type { Profile, RoomBrief } from "../domain/model";
import { type Env, jwtConfigOf } from "../env";

/** The name a dialect is registered under (`src/dialects/registry.ts` derives the closed union). */
export type DialectId = string;

/**
 * Where a dialect's sockets are upgraded. `room` endpoints name the room in the path (`:room`, a key or a
 * number) and are hosted by that room's object; `user` endpoints are hosted by the user's object.
 */
export interface Endpoint {
  path: string;
  scope: "room" | "user";
}

/**
 * How a socket authenticates at upgrade time:
 * - `url`: a token on the upgrade (`?token=`, `Authorization: Bearer`, or a token subprotocol) is required;
 *   without one the socket is closed at once with 4001 (Swappart, ActionCable);
 * - `first_frame`: the token comes in a frame after the upgrade; a URL token is still honoured (STOMP CONNECT,
 *   Haraj `auth`, DDP `login`, native `auth`).
 */
export type AuthPolicy = "url" | "first_frame";

/** Checks a token a client presents and names its user. */
export type TokenVerifier = (env: Env, token: string) => Promise<Outcome<Identity>>;

export interface Close {
  code: number;
  reason: string;
}

/** What the host knows about a session when it asks its codec to translate. */
export interface SessionContext {
  /** Unique per socket; dialects that carry no idempotency key derive temp ids from it. */
  sessionId: string;
  /** Null until the session has authenticated. */
  user: Profile | null;
  /** The room the socket's URL names, for room-scoped sessions. */
  room: string | null;
  /** The subprotocol the host echoed (`chooseSubprotocol`'s answer), null for none. */
  subprotocol?: string | null;
  maxFrameBytes: number;
  now: () => Date;
  /** What the host knows of a room it serves events for (its number, kind, epoch), by key. */
  roomInfo: (key: string) => RoomBrief | null;
}

/** A command plus whatever the dialect needs to answer it later (a request id, a receipt, a temp id). */
export interface TaggedCommand<Tag = unknown> {
  command: Command;
  tag: Tag;
}

export interface Decoded<State, Tag = unknown> {
  state: State;
  commands: TaggedCommand<Tag>[];
  /** Frames that answer at the protocol level at once (CONNECTED, RECEIPT, pong, a 400). */
  replies: string[];
  /** Close the socket after sending `replies`. */
  close?: Close;
}

export interface Encoded<State> {
  state: State;
  frames: string[];
  close?: Close;
}

/**
 * A dialect's translation between wire frames and canonical commands and events. Pure: no I/O, no clock but
 * `ctx.now`, no feature logic. Its state is JSON and lives in the socket attachment, so it survives
 * hibernation. Everything a host needs to route, authenticate and keep the session alive is declared here, so
 * a new dialect is one folder and one registry line.
 */
export interface Codec<State, Tag = unknown> {
  name: DialectId;
  endpoints: readonly Endpoint[];
  auth: AuthPolicy;
  /**
   * How this dialect's tokens are verified, when not with the deployment's own chat-token settings (`JWT_*`):
   * Swappart's are Supabase access tokens. The hosts call it wherever a token of the dialect arrives (the
   * upgrade, a first-frame auth); translation stays pure. See `verifyDialectToken`.
   */
  verifyToken?: TokenVerifier;
  /**
   * The subprotocol to echo among those the client offered: a string, null for none, or false to refuse the
   * upgrade (the client offered only ones this dialect does not speak).
   */
  chooseSubprotocol(offered: readonly string[]): string | null | false;
  /** A token carried in an offered subprotocol (browsers cannot set headers), if the dialect has that form. */
  tokenFromSubprotocols?(offered: readonly string[]): string | null;
  /** What a session follows from its start, without asking (Haraj's stream of every room of its user). */
  initialFollows?: readonly FollowScope[];
  /**
   * True when a socket stays open after a refused frame before authentication, so the client may try again
   * (Haraj). Otherwise such a socket is closed after the codec's answer (native).
   */
  retriesAuth?: boolean;
  initialState(ctx: SessionContext): State;
  /**
   * Session resumption (AnyCable's `?sid=`): a new socket names, in the URL query parameter `param` (or the
   * `header`), the `sessionId` of an earlier socket of the same user. The host keeps the state each session of
   * this dialect had when its socket closed, for `keepMs`; when a new socket names one it still keeps, the host
   * forgets it (a state resumes once) and calls `restore` instead of `initialState`. A null answer means "start
   * afresh" (`initialState`). Otherwise the host sends `open`'s frames, then runs the commands, which re-follow
   * what the old session followed; their outcomes go to `encodeOutcome` as usual.
   */
  resume?: {
    param: string;
    header: string;
    keepMs: number;
    restore(previous: State, ctx: SessionContext): { state: State; commands: TaggedCommand<Tag>[] } | null;
  };
  /** Frames sent as soon as the socket is hosted, before any client frame (ActionCable `welcome`). */
  open?(state: State, ctx: SessionContext): Encoded<State>;
  /**
   * Server-initiated heartbeats: the host calls `beat` every `intervalMs` while such a session exists (from the
   * object's alarm), with when the session last sent anything. It may close a session that stopped answering.
   */
  heartbeat?: {
    intervalMs: number;
    beat(state: State, ctx: SessionContext, lastActiveAt: number): Encoded<State>;
  };
  /**
   * Frames sent before any close the server starts (ActionCable `disconnect`, Swappart `Disconnection`),
   * including a close the codec itself returns from `decode`, `encodeOutcome` or `beat`: the host renders them
   * after that answer's frames, so a codec never puts them in its own replies.
   */
  closeFrames?(state: State, close: Close, ctx: SessionContext): string[];
  decode(state: State, frame: string | ArrayBuffer, ctx: SessionContext): Decoded<State, Tag>;
  /** The answer to one decoded command, once the host has run it. May update state (e.g. after auth). */
  encodeOutcome(
    state: State,
    tag: Tag,
    command: Command,
    outcome: CommandOutcome,
    ctx: SessionContext,
  ): Encoded<State>;
  /** The frames one event becomes for this session; none when the session did not ask for it. */
  encodeEvent(state: State, event: ChatEvent, ctx: SessionContext): string[];
  /**
   * The session's state after `event` was encoded for it, for dialects whose encoding counts or tracks. Return
   * `state` itself when nothing changed: the host then does not rewrite the socket's attachment.
   */
  afterEvent?(state: State, event: ChatEvent, ctx: SessionContext): State;
  /**
   * True when `encodeEvent` depends on the event alone (not on state or context): a host fanning an event out
   * then encodes it once for all of this dialect's sessions instead of once per socket.
   */
  eventEncodingIsShared?: boolean;
  /**
   * How long the session may stay silent (no frame, no "\n" keepalive) before the host closes it as dead, or
   * null when the dialect has no client keepalive and only a TCP close ends it.
   */
  idleLimitMs(state: State): number | null;
  /**
   * The WebSocket messages that carry several frames, for batched fan-out: one message where the dialect can
   * frame several (native batch frame, concatenated STOMP frames), else one message per frame.
   */
  batch(frames: string[]): string[];
}

/** Verifies `token` as `codec`'s clients present it: its own verifier, else the deployment's chat tokens. */
export function verifyDialectToken(
  codec: Pick<Codec<unknown>, "verifyToken">,
  env: Env,
  token: string,
): Promise<Outcome<Identity>> {
  return codec.verifyToken ? codec.verifyToken(env, token) : verifyChatToken(jwtConfigOf(env), token);
}
