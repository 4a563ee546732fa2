import type { Command, CommandOutcome } from "../domain/commands";
import type { ChatEvent } from "../domain/events";
import type { Profile } from "../domain/model";

export type DialectName = "native" | "stomp" | "haraj" | "swappart" | "actioncable" | "ddp";

/** What the host knows about a session when it asks its codec to translate. */
export interface SessionContext {
  /** Unique per socket; dialects that carry no idempotency key derive temp ids from it. */
  sessionId: string;
  /** Null until the session has authenticated. */
  user: Profile | null;
  /** The room the socket's URL names, for room-scoped sessions. */
  room: string | null;
  maxFrameBytes: number;
  now: () => Date;
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
  close?: { code: number; reason: string };
}

/**
 * A dialect's translation between wire frames and canonical commands and events. Pure: no I/O, no clock but
 * `ctx.now`, no feature logic. Its state is JSON and lives in the socket attachment, so it survives
 * hibernation.
 */
export interface Codec<State, Tag = unknown> {
  name: DialectName;
  /** True when a session receives every room of its user without subscribing (Haraj's stream). */
  streamsAllRooms?: boolean;
  /**
   * True when a socket stays open after a refused frame before authentication, so the client may try again
   * (Haraj). Otherwise such a socket is closed after the codec's answer (native).
   */
  retriesAuth?: boolean;
  initialState(ctx: SessionContext): State;
  decode(state: State, frame: string | ArrayBuffer, ctx: SessionContext): Decoded<State, Tag>;
  /** The answer to one decoded command, once the host has run it. May update state (e.g. after auth). */
  encodeOutcome(
    state: State,
    tag: Tag,
    command: Command,
    outcome: CommandOutcome,
    ctx: SessionContext,
  ): { state: State; frames: string[]; close?: { code: number; reason: string } };
  /** The frames one event becomes for this session; none when the session did not ask for it. */
  encodeEvent(state: State, event: ChatEvent, ctx: SessionContext): string[];
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
