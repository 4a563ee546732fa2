import type { Command, CommandOutcome, CommandResult, RoomRef } from "../../domain/commands";
import type { ChatError } from "../../domain/errors";
import type { ChatEvent } from "../../domain/events";
import type { Message } from "../../domain/model";
import type { Close, Codec, Decoded, Encoded, SessionContext } from "../codec";
import { frameBytes, frameJson } from "../frame-text";
import { invalidUser, type MeteorError, meteorError, tooManyRequests, withinDepth } from "./ejson";
import { type MethodTag, planMethod } from "./methods";
import { rcMessage, rcRoom, rcSubscriptionOfListing, rcUser } from "./shapes";
import {
  changedFrame,
  planSub,
  type StreamSub,
  sameTarget,
  streamEventsOf,
  type Target,
  targetOf,
} from "./streams";

/** The one DDP version Parley speaks (it has heartbeats; `pre1` does not). */
export const DDP_VERSION = "1";

/** Server pings: twice Meteor's 15 s (each one wakes the user's object), within the RC client's 60 s timeout. */
export const DDP_PING_INTERVAL_MS = 30_000;
/** A backstop for sessions the heartbeat does not reach: three ping intervals of silence. */
export const DDP_IDLE_LIMIT_MS = 3 * DDP_PING_INTERVAL_MS;

/** Rocket.Chat tokens live 90 days; a token without an expiry is reported as living that long from now. */
const DEFAULT_TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000;

/**
 * The state lives in the socket attachment (16 KiB, shared with the host): subscriptions are refused past this
 * budget, and the oldest remembered message rooms are forgotten first.
 */
export const STATE_BUDGET_BYTES = 10 * 1024;
/** How many recently seen messages' rooms are remembered for the methods that name only a message. */
export const RECENT_MESSAGES = 24;
const MAX_SUB_ID_CHARS = 64;

const NORMAL_CLOSURE = 1000;
const MESSAGE_TOO_BIG = 1009;
const PROTOCOL_ERROR = 1002;

export interface DdpState {
  /** `greeting` until the client's `connect` is answered with `connected`. */
  phase: "greeting" | "connected";
  /** sendMessage calls decoded so far: the counter behind derived temp ids. */
  sent: number;
  /** When the last heartbeat ran (ms), so the next one can tell whether the client answered. */
  beatAt: number | null;
  subs: StreamSub[];
  /** `[message id, room]` of recently seen messages, newest last. */
  recent: [string, string][];
}

export type DdpTag =
  | MethodTag
  | { kind: "sub"; id: string; stream: string; eventName: string; useCollection: boolean }
  | { kind: "unsub"; id: string };

type Turn = Decoded<DdpState, DdpTag>;

const frame = (message: Record<string, unknown>): string => JSON.stringify(message);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Meteor's connection-level error, echoing the message it is about when there is one. */
const errorFrame = (reason: string, offendingMessage?: unknown) =>
  frame({ msg: "error", reason, ...(offendingMessage === undefined ? {} : { offendingMessage }) });

const reply = (state: DdpState, ...replies: string[]): Turn => ({ state, commands: [], replies });

/** A method's answer: `result` (with `result` or `error`), then `updated`, as Meteor sends both for every call. */
function methodFrames(id: string, answer: { result?: unknown } | { error: MeteorError }): string[] {
  return [frame({ msg: "result", id, ...answer }), frame({ msg: "updated", methods: [id] })];
}

const readyFrames = (sub: { id: string; stream: string; eventName: string }, useCollection: boolean) => [
  ...(useCollection
    ? [
        frame({
          msg: "added",
          collection: `stream-${sub.stream}`,
          id: "id",
          fields: { eventName: sub.eventName },
        }),
      ]
    : []),
  frame({ msg: "ready", subs: [sub.id] }),
];

const nosubFrame = (id: unknown, error?: MeteorError) =>
  frame({ msg: "nosub", id, ...(error ? { error } : {}) });

/** Meteor picks the first version in the client's preference order that it speaks, else its own best. */
function connect(state: DdpState, message: Record<string, unknown>, ctx: SessionContext): Turn {
  const { version, support } = message;
  const supportsItself =
    typeof version === "string" &&
    Array.isArray(support) &&
    support.every((v) => typeof v === "string") &&
    support.includes(version);
  if (!supportsItself || version !== DDP_VERSION) {
    return {
      ...reply(state, frame({ msg: "failed", version: DDP_VERSION })),
      close: { code: NORMAL_CLOSURE, reason: "DDP version not supported" },
    };
  }
  return reply({ ...state, phase: "connected" }, frame({ msg: "connected", session: ctx.sessionId }));
}

const stateBytes = (state: DdpState) => JSON.stringify(state).length;

/** The state with `messages` remembered, forgetting the oldest past the count or the byte budget. */
function remember(state: DdpState, messages: readonly Message[]): DdpState {
  const fresh = messages.filter((m) => !state.recent.some(([id]) => id === m.id));
  if (fresh.length === 0) return state;
  const recent = [...state.recent, ...fresh.map((m): [string, string] => [m.id, m.room])].slice(
    -RECENT_MESSAGES,
  );
  let next: DdpState = { ...state, recent };
  while (next.recent.length > 0 && stateBytes(next) > STATE_BUDGET_BYTES)
    next = { ...next, recent: next.recent.slice(1) };
  return next;
}

/** The room of a message: remembered when the session saw it, else for the host to look up. */
function roomOfMessage(state: DdpState, messageId: string): RoomRef {
  return state.recent.find(([id]) => id === messageId)?.[1] ?? { message_id: messageId };
}

function followCommand(target: NonNullable<Target>, on: boolean): Command {
  if ("room" in target)
    return on
      ? { kind: "subscribe", room: target.room, since: null }
      : { kind: "unsubscribe", room: target.room };
  return { kind: on ? "follow" : "unfollow", scope: target.scope };
}

function subscribe(state: DdpState, message: Record<string, unknown>, ctx: SessionContext): Turn {
  const { id, name, params } = message;
  if (typeof id !== "string" || typeof name !== "string" || ("params" in message && !Array.isArray(params)))
    return reply(state, errorFrame("Malformed subscription", message));
  // Meteor ignores a sub whose id is live: clients resend their subs after reconnecting.
  if (state.subs.some((sub) => sub.id === id)) return reply(state);
  if (!ctx.user) return reply(state, nosubFrame(id, meteorError("not-allowed")));
  const [eventName, options] = Array.isArray(params) ? params : [];
  // Legacy clients send `useCollection` as a boolean, @rocket.chat/ddp-client as `{useCollection, args}`.
  const useCollection = options === true || (isRecord(options) && options.useCollection === true);
  const plan = planSub(id, name, eventName, ctx.user);
  if (plan.kind === "refuse") return reply(state, nosubFrame(id, plan.error));
  if (plan.kind === "silent") {
    const stream = name.slice("stream-".length);
    return reply(state, ...readyFrames({ id, stream, eventName: String(eventName) }, useCollection));
  }
  const { sub } = plan;
  if (sub.id.length > MAX_SUB_ID_CHARS)
    return reply(
      state,
      nosubFrame(id, meteorError("invalid-subscription-id", "Subscription ids are too long")),
    );
  const next = { ...state, subs: [...state.subs, sub] };
  if (stateBytes(next) > STATE_BUDGET_BYTES)
    return reply(state, nosubFrame(id, meteorError("too-many-subscriptions", "Too many subscriptions")));
  const target = targetOf(sub);
  if (target === null || state.subs.some((other) => sameTarget(targetOf(other), target)))
    return reply(next, ...readyFrames(sub, useCollection));
  return {
    state: next,
    commands: [{ command: followCommand(target, true), tag: { kind: "sub", ...sub, useCollection } }],
    replies: [],
  };
}

/** `unsub` is answered with `nosub` even for ids the session does not hold, as Meteor does. */
function unsubscribe(state: DdpState, message: Record<string, unknown>): Turn {
  const { id } = message;
  const removed = state.subs.find((sub) => sub.id === id);
  if (!removed) return reply(state, nosubFrame(id));
  const subs = state.subs.filter((sub) => sub !== removed);
  const target = targetOf(removed);
  const next = { ...state, subs };
  if (target === null || subs.some((other) => sameTarget(targetOf(other), target)))
    return reply(next, nosubFrame(id));
  return {
    state: next,
    commands: [{ command: followCommand(target, false), tag: { kind: "unsub", id: removed.id } }],
    replies: [],
  };
}

function callMethod(state: DdpState, message: Record<string, unknown>, ctx: SessionContext): Turn {
  const { id, method, params } = message;
  if (
    typeof id !== "string" ||
    typeof method !== "string" ||
    ("params" in message && !Array.isArray(params)) ||
    ("randomSeed" in message && typeof message.randomSeed !== "string")
  )
    return reply(state, errorFrame("Malformed method invocation", message));
  const plan = planMethod(id, method, Array.isArray(params) ? params : [], {
    user: ctx.user,
    sessionId: ctx.sessionId,
    sent: state.sent,
    roomOfMessage: (messageId) => roomOfMessage(state, messageId),
  });
  if (plan.kind === "error") return reply(state, ...methodFrames(id, { error: plan.error }));
  if (plan.kind === "answer") {
    const turn = reply(state, ...methodFrames(id, plan.result === undefined ? {} : { result: plan.result }));
    // A Parley session belongs to one user: after logout the client reconnects to log in again.
    return plan.close ? { ...turn, close: { code: NORMAL_CLOSURE, reason: "logged out" } } : turn;
  }
  const sent = plan.command.kind === "send" ? state.sent + 1 : state.sent;
  return { state: { ...state, sent }, commands: [{ command: plan.command, tag: plan.tag }], replies: [] };
}

function decodeMessage(state: DdpState, message: unknown, ctx: SessionContext): Turn {
  if (!isRecord(message) || typeof message.msg !== "string" || message.msg === "")
    return reply(state, errorFrame("Bad request", message));
  if (message.msg === "connect") {
    if (state.phase === "connected") return reply(state, errorFrame("Already connected", message));
    return connect(state, message, ctx);
  }
  if (state.phase !== "connected") return reply(state, errorFrame("Must connect first", message));
  switch (message.msg) {
    case "ping":
      return reply(state, frame({ msg: "pong", ...("id" in message ? { id: message.id } : {}) }));
    case "pong":
      return reply(state);
    case "sub":
      return subscribe(state, message, ctx);
    case "unsub":
      return unsubscribe(state, message);
    case "method":
      return callMethod(state, message, ctx);
    default:
      return reply(state, errorFrame("Bad request", message));
  }
}

/** Meteor accounts' reasons for a resume token it does not accept. */
function loginError(error: ChatError): MeteorError {
  if (error.code === "rate_limited") return tooManyRequests(error.retry_after ?? 1);
  if (error.code === "token_expired")
    return meteorError(403, "Your session has expired. Please log in again.");
  if (error.code === "invalid_token" || error.code === "unauthorized")
    return meteorError(403, "You've been logged out by the server. Please log in again.");
  return methodError(error, "login", null);
}

/** Rocket.Chat's error for a refused command, keyed by what Rocket.Chat itself throws in that case. */
function methodError(error: ChatError, method: string, command: Command | null): MeteorError {
  const details = { method };
  switch (error.code) {
    case "rate_limited":
      return tooManyRequests(error.retry_after ?? 1);
    case "unauthorized":
    case "invalid_token":
    case "token_expired":
      return invalidUser(method);
    case "forbidden":
      return meteorError("error-not-allowed", error.message, details);
    case "not_found":
      return command && "message_id" in command
        ? meteorError("error-invalid-message", error.message, details)
        : meteorError("error-invalid-room", error.message, details);
    case "payload_too_large":
      return meteorError("error-message-size-exceeded", error.message, details);
    case "bad_request":
      return meteorError(400, error.message, details);
    case "conflict":
      return meteorError(409, error.message, details);
    case "content_refused":
      return meteorError("error-message-not-allowed", error.message, details);
    case "internal":
      return meteorError(500, "Internal server error");
  }
}

/** Why a stream subscription was refused: the Streamer's `not-allowed` unless it was a rate limit or a fault. */
function subError(error: ChatError): MeteorError {
  if (error.code === "rate_limited") return tooManyRequests(error.retry_after ?? 1);
  if (error.code === "internal") return meteorError(500, "Internal server error");
  return meteorError("not-allowed");
}

/** A method's result as Rocket.Chat returns it, and the state after remembering the messages it carried. */
function methodResult(
  state: DdpState,
  tag: MethodTag,
  command: Command,
  result: CommandResult,
  ctx: SessionContext,
): { state: DdpState; result?: unknown } {
  switch (result.kind) {
    case "auth":
    case "token_refreshed": {
      const token = command.kind === "auth" || command.kind === "refresh_token" ? command.token : "";
      const expires = result.expires_at
        ? Date.parse(result.expires_at)
        : ctx.now().getTime() + DEFAULT_TOKEN_LIFETIME_MS;
      return {
        state,
        result: { id: result.user.id, token, tokenExpires: { $date: expires }, type: "resume" },
      };
    }
    case "sent":
    case "edited":
    case "reacted":
      return {
        state: remember(state, [result.message]),
        result: tag.method === "sendMessage" ? rcMessage(result.message) : undefined,
      };
    case "message_pinned":
      return { state, result: result.message.pinned_at ? rcMessage(result.message) : true };
    case "history": {
      // Rocket.Chat lists a room's history newest first, and a thread's replies oldest first.
      const bySeq = [...result.messages].sort((a, b) => a.seq - b.seq);
      const next = remember(state, bySeq);
      if (tag.method === "getThreadMessages") return { state: next, result: bySeq.map(rcMessage) };
      return { state: next, result: { messages: bySeq.reverse().map(rcMessage), unreadNotLoaded: 0 } };
    }
    case "rooms": {
      const now = ctx.now().toISOString();
      const me = ctx.user;
      const records =
        tag.method === "rooms/get"
          ? result.listings.map((listing) => rcRoom(listing.room, listing.last_message))
          : me
            ? result.listings.map((listing) => rcSubscriptionOfListing(listing, me, now))
            : [];
      // Parley keeps no trash of left rooms: an incremental fetch returns every room as updated.
      return { state, result: tag.incremental ? { update: records, remove: [] } : records };
    }
    case "members": {
      const page = tag.members ?? { skip: 0, limit: null, filter: "" };
      const needle = page.filter.toLowerCase();
      const matching = result.members
        .map(rcUser)
        .filter(
          (user) => user.username.toLowerCase().includes(needle) || user.name.toLowerCase().includes(needle),
        );
      const end = page.limit === null ? undefined : page.skip + page.limit;
      return { state, result: { total: matching.length, records: matching.slice(page.skip, end) } };
    }
    case "direct": {
      const me = ctx.user?.id ?? "";
      const to = command.kind === "create_direct" ? command.to : me;
      const users = [...new Set([me, to])];
      return { state, result: { t: "d", rid: result.room, usernames: users, uids: users } };
    }
    default:
      return { state };
  }
}

function encodeMethodOutcome(
  state: DdpState,
  tag: MethodTag,
  command: Command,
  outcome: CommandOutcome,
  ctx: SessionContext,
): Encoded<DdpState> {
  if (!outcome.ok) {
    const error =
      command.kind === "auth" || command.kind === "refresh_token"
        ? loginError(outcome.error)
        : methodError(outcome.error, tag.method, command);
    return { state, frames: methodFrames(tag.id, { error }) };
  }
  const answer = methodResult(state, tag, command, outcome.value, ctx);
  return {
    state: answer.state,
    frames: methodFrames(tag.id, answer.result === undefined ? {} : { result: answer.result }),
  };
}

/** A refused follow ends every sub on its target, those answered `ready` while it ran included. */
function encodeSubOutcome(
  state: DdpState,
  tag: Extract<DdpTag, { kind: "sub" }>,
  outcome: CommandOutcome,
): Encoded<DdpState> {
  const sub = state.subs.find((s) => s.id === tag.id);
  if (!sub) return { state, frames: [] };
  if (outcome.ok) return { state, frames: readyFrames(sub, tag.useCollection) };
  const target = targetOf(sub);
  const ended = state.subs.filter((s) => sameTarget(targetOf(s), target));
  const error = subError(outcome.error);
  return {
    state: { ...state, subs: state.subs.filter((s) => !ended.includes(s)) },
    frames: ended.map((s) => nosubFrame(s.id, error)),
  };
}

const MESSAGE_EVENTS = new Set(["message", "message_updated", "message_pinned", "reaction_changed"]);

/**
 * Meteor DDP as Rocket.Chat's realtime API speaks it (seed 004): `connect`, server `ping`, methods answered with
 * `result` and `updated`, and Streamer subscriptions whose events are `changed` messages. See docs/dialects/ddp.md.
 */
export const ddpCodec: Codec<DdpState, DdpTag> = {
  name: "ddp",
  endpoints: [{ path: "/websocket", scope: "user" }],
  auth: "first_frame",
  // DDP names no subprotocol.
  chooseSubprotocol: () => null,
  // A refused login leaves a DDP session connected: the client may log in again (Meteor accounts).
  retriesAuth: true,
  initialState: () => ({ phase: "greeting", sent: 0, beatAt: null, subs: [], recent: [] }),

  heartbeat: {
    intervalMs: DDP_PING_INTERVAL_MS,
    beat(state, ctx, lastActiveAt) {
      const now = ctx.now().getTime();
      if (state.beatAt !== null && lastActiveAt < state.beatAt)
        return { state, frames: [], close: { code: NORMAL_CLOSURE, reason: "heartbeat timed out" } };
      // Pings before `connected` would break the handshake; the silence check above still applies.
      const frames = state.phase === "connected" ? [frame({ msg: "ping" })] : [];
      return { state: { ...state, beatAt: now }, frames };
    },
  },

  decode(state, raw, ctx) {
    if (frameBytes(raw) > ctx.maxFrameBytes) {
      const close: Close = {
        code: MESSAGE_TOO_BIG,
        reason: `frame is larger than ${ctx.maxFrameBytes} bytes`,
      };
      return { ...reply(state, errorFrame("Message too big")), close };
    }
    const message = frameJson(raw);
    if (message === undefined) return reply(state, errorFrame("Parse error"));
    if (!withinDepth(message)) {
      const close: Close = { code: PROTOCOL_ERROR, reason: "JSON nested too deeply" };
      return { ...reply(state, errorFrame("Parse error")), close };
    }
    return decodeMessage(state, message, ctx);
  },

  encodeOutcome(state, tag, command, outcome, ctx) {
    if (tag.kind === "method") return encodeMethodOutcome(state, tag, command, outcome, ctx);
    if (tag.kind === "sub") return encodeSubOutcome(state, tag, outcome);
    return { state, frames: [nosubFrame(tag.id)] };
  },

  encodeEvent(state, event: ChatEvent, ctx) {
    const me = ctx.user;
    if (state.phase !== "connected" || !me || state.subs.length === 0) return [];
    return streamEventsOf(event, me, ctx)
      .filter((e) => state.subs.some((sub) => sub.stream === e.stream && sub.eventName === e.eventName))
      .map(changedFrame);
  },

  afterEvent(state, event) {
    return MESSAGE_EVENTS.has(event.type) && "message" in event ? remember(state, [event.message]) : state;
  },

  idleLimitMs: () => DDP_IDLE_LIMIT_MS,

  /** Meteor accepts several messages in one frame only from DDP 2 on: each frame is its own WebSocket message. */
  batch: (frames) => frames,
};
