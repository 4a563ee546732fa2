import { z } from "zod";
import { CloseCode } from "../../domain/close-codes";
import type { Command, CommandOutcome } from "../../domain/commands";
import type { ChatError } from "../../domain/errors";
import { type ChatEvent, eventVisibleTo, isDurable } from "../../domain/events";
import type { Message, RoomBrief } from "../../domain/model";
import type { StreamPosition } from "../../domain/positions";
import type { Codec, Decoded, Encoded, SessionContext } from "../codec";
import { frameBytes, frameText } from "../frame-text";
import { decodeAction } from "./actions";
import {
  type ChannelKind,
  MAX_SUBSCRIPTIONS,
  roomRef,
  type Subscription,
  sameTarget,
  servedBy,
  startCommand,
  stopCommand,
  subscriptionFor,
} from "./channels";
import { messageNumber } from "./ids";
import {
  chatRoomJson,
  deletedMessageJson,
  jsonMessage,
  notificationJson,
  simplifiedChatRoomJson,
} from "./payloads";
import {
  ACTIONCABLE_EXT_SUBPROTOCOL,
  ACTIONCABLE_SUBPROTOCOL,
  type ChannelMessage,
  type DisconnectReason,
  dataFrame,
  disconnectFrame,
  identifierFrame,
  PING_INTERVAL_MS,
  parseObject,
  pingFrame,
  presenceErrorFrame,
  TOKEN_SUBPROTOCOL_PREFIX,
  welcomeFrame,
} from "./protocol";

/** Session state, kept in the socket attachment: the subscriptions, by the identifiers the client chose. */
export interface ActionCableState {
  /** The session speaks AnyCable's extended protocol (`actioncable-v1-ext-json`). */
  ext: boolean;
  subscriptions: Subscription[];
  /** The identifiers a resumed session restored, announced by its `welcome` and then forgotten. */
  restored: string[] | null;
}

/** What the answer to a command needs: whom it answers, and how. */
export type ActionCableTag =
  /** A subscription's start command: confirms or rejects every subscription waiting for what it starts. */
  | { answer: "subscription" }
  /** A history replay (`subscribe` with `since`): `confirm_history` or `reject_history`. */
  | { answer: "history"; identifier: string }
  /** A resumed session's start command: silent; a refused one drops the subscriptions it served. */
  | { answer: "restore" }
  /** A stop command: silent, as Rails is for unsubscribe. */
  | { answer: "none" }
  /** A performed action: silent on success (its events tell), an `error` message otherwise. */
  | { answer: "action"; identifier: string; action: string; creation_uuid?: string };

type Turn = Decoded<ActionCableState, ActionCableTag>;

/** AnyCable keeps a closed session's state for resumption for 5 minutes (`sessions_ttl`). */
export const SESSION_KEEP_MS = 5 * 60_000;

/** The `disconnect` that precedes each close the server starts: why, and whether the client should reconnect. */
const DISCONNECTS: Partial<Record<number, { reason: DisconnectReason; reconnect: boolean }>> = {
  [CloseCode.NoAuthToken]: { reason: "unauthorized", reconnect: false },
  [CloseCode.InvalidToken]: { reason: "unauthorized", reconnect: false },
  [CloseCode.UnauthorizedAction]: { reason: "unauthorized", reconnect: false },
  [CloseCode.AdminAction]: { reason: "remote", reconnect: false },
  [CloseCode.Banned]: { reason: "remote", reconnect: false },
  [CloseCode.HatefulSpeech]: { reason: "remote", reconnect: false },
  // Another device took the session over: reconnecting would take it back, and so on.
  [CloseCode.NewDevice]: { reason: "remote", reconnect: false },
  [CloseCode.BadMessageStructure]: { reason: "invalid_request", reconnect: false },
  [CloseCode.ServerShutdown]: { reason: "server_restart", reconnect: true },
  [CloseCode.ServerError]: { reason: "server_restart", reconnect: true },
  [CloseCode.Afk]: { reason: "idle_timeout", reconnect: true },
};
const OTHER_CLOSE = { reason: "remote", reconnect: true } as const;

const positionSchema = z.object({
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  epoch: z.string().min(1).max(128),
});
/** AnyCable's history request: the client's positions by stream, and the time it last heard the server. */
const historySchema = z.object({
  since: z.number().optional(),
  streams: z.record(z.string().max(256), positionSchema).optional(),
});

const withSubscriptions = (state: ActionCableState, subscriptions: Subscription[]): ActionCableState => ({
  ...state,
  subscriptions,
});

const findSubscription = (state: ActionCableState, identifier: string) =>
  state.subscriptions.find((sub) => sub.identifier === identifier);

function errorFrame(
  identifier: string,
  action: string | null,
  error: ChatError,
  creationUuid?: string,
): string {
  const data = {
    code: error.code,
    message: error.message,
    action,
    ...(creationUuid ? { creation_uuid: creationUuid } : {}),
  };
  return dataFrame(identifier, { event: "error", data }, null);
}

/**
 * Where a room subscription's client stopped: its position on the subscription's stream (named by the room's key),
 * or the only position given, since a client sends those of the streams it heard on that identifier.
 */
function positionFor(sub: Subscription, history: z.infer<typeof historySchema>): StreamPosition | null {
  const streams = Object.entries(history.streams ?? {});
  const entry =
    streams.find(([stream]) => stream === sub.key) ?? (streams.length === 1 ? streams[0] : undefined);
  return entry ? { seq: entry[1].offset, epoch: entry[1].epoch } : null;
}

const historyCommand = (sub: Subscription, position: StreamPosition): Command => ({
  kind: "subscribe",
  room: roomRef(sub),
  since: position.seq,
  epoch: position.epoch,
});

/**
 * Rails answers a repeated subscribe with nothing (the client re-sends it every 500 ms until answered), so does
 * Parley. A subscription whose target another one already asked for waits for that answer.
 */
function subscribe(turn: Turn, identifier: string, history: unknown, me: string): void {
  const { state } = turn;
  if (findSubscription(state, identifier)) return;
  const asked = subscriptionFor(identifier, me);
  if ("rejected" in asked || state.subscriptions.length >= MAX_SUBSCRIPTIONS) {
    turn.replies.push(identifierFrame(identifier, "reject_subscription"));
    return;
  }
  const twin = state.subscriptions.find((other) => sameTarget(other, asked));
  const sub: Subscription = twin?.confirmed
    ? { ...asked, key: twin.key, number: twin.number, confirmed: true }
    : asked;
  turn.state = withSubscriptions(state, [...state.subscriptions, sub]);
  if (sub.confirmed) turn.replies.push(identifierFrame(identifier, "confirm_subscription"));
  else if (!twin) turn.commands.push({ command: startCommand(sub), tag: { answer: "subscription" } });
  // The extended client sends `history: {since: now}` with every subscribe: only a position can be replayed.
  const request = historySchema.safeParse(history);
  const position =
    state.ext && request.success && sub.channel === "room" ? positionFor(sub, request.data) : null;
  if (position)
    turn.commands.push({ command: historyCommand(sub, position), tag: { answer: "history", identifier } });
}

function unsubscribe(turn: Turn, identifier: string): void {
  const sub = findSubscription(turn.state, identifier);
  if (!sub) return;
  const rest = turn.state.subscriptions.filter((other) => other !== sub);
  turn.state = withSubscriptions(turn.state, rest);
  if (!rest.some((other) => sameTarget(other, sub)))
    turn.commands.push({ command: stopCommand(sub), tag: { answer: "none" } });
}

function perform(turn: Turn, identifier: string, data: unknown, ctx: SessionContext): void {
  const sub = findSubscription(turn.state, identifier);
  if (!sub) {
    const error: ChatError = { code: "bad_request", message: "subscribe to this identifier first" };
    turn.replies.push(errorFrame(identifier, null, error));
    return;
  }
  const decoded = decodeAction(data, sub, ctx);
  if ("error" in decoded) {
    turn.replies.push(errorFrame(identifier, decoded.action, decoded.error));
    return;
  }
  const { command, action, creation_uuid } = decoded;
  const tag: ActionCableTag = creation_uuid
    ? { answer: "action", identifier, action, creation_uuid }
    : { answer: "action", identifier, action };
  turn.commands.push({ command, tag });
}

/** The extended protocol's `history`: replays a room subscription from the client's position. */
function replayHistory(turn: Turn, identifier: string, history: unknown): void {
  const sub = findSubscription(turn.state, identifier);
  const request = historySchema.safeParse(history);
  const position = sub?.channel === "room" && request.success ? positionFor(sub, request.data) : null;
  if (sub && position)
    turn.commands.push({ command: historyCommand(sub, position), tag: { answer: "history", identifier } });
  else turn.replies.push(identifierFrame(identifier, "reject_history"));
}

/** A non-empty string identifier, or null (Rails drops a command without one). */
const identifierOf = (frame: Record<string, unknown>): string | null =>
  typeof frame.identifier === "string" && frame.identifier !== "" ? frame.identifier : null;

/** Answers the waiting subscriptions that `command` served: confirmed with the room it resolved, or rejected. */
function answerSubscriptions(
  state: ActionCableState,
  command: Command,
  outcome: CommandOutcome,
  ctx: SessionContext,
): Encoded<ActionCableState> {
  const waiting = state.subscriptions.filter((sub) => !sub.confirmed && servedBy(sub, command));
  if (!outcome.ok) {
    return {
      state: withSubscriptions(
        state,
        state.subscriptions.filter((sub) => !waiting.includes(sub)),
      ),
      frames: waiting.map((sub) => identifierFrame(sub.identifier, "reject_subscription")),
    };
  }
  const key = outcome.value.kind === "subscribed" ? outcome.value.room : null;
  const number = key === null ? null : (ctx.roomInfo(key)?.number ?? null);
  const confirm = (sub: Subscription): Subscription => ({
    ...sub,
    key: key ?? sub.key,
    number: number ?? sub.number,
    confirmed: true,
  });
  return {
    state: withSubscriptions(
      state,
      state.subscriptions.map((sub) => (waiting.includes(sub) ? confirm(sub) : sub)),
    ),
    frames: waiting.map((sub) => identifierFrame(sub.identifier, "confirm_subscription")),
  };
}

const inThread = (m: Message) => m.parent_id !== null || m.thread !== null;

/** What `Chats::RoomChannel` broadcasts of its room's events. */
function roomChannelMessage(event: ChatEvent, room: RoomBrief): ChannelMessage | null {
  switch (event.type) {
    case "message":
      return { event: "newMessage", data: jsonMessage(event.message, room) };
    case "message_updated":
      return { event: "updatedMessage", data: jsonMessage(event.message, room) };
    case "message_deleted":
      return { event: "deletedMessage", data: deletedMessageJson(event.message, event.parent, room) };
    case "room_updated":
      return { event: "chatRoomUpdated", data: simplifiedChatRoomJson(event.info) };
    default:
      return null;
  }
}

/** What `ChatRoomChannel` broadcasts: the member's room list, and new messages outside threads and live rooms. */
function roomsChannelMessage(event: ChatEvent, room: RoomBrief | null, me: string): ChannelMessage | null {
  const listed = room !== null && room.kind !== "live";
  switch (event.type) {
    case "room_added": {
      const brief = event.listing?.room ?? room;
      if (!brief || brief.kind === "live") return null;
      return { event: "chatRoomCreated", data: chatRoomJson(brief, event.listing, me) };
    }
    case "room_updated":
      return event.info.kind === "live"
        ? null
        : { event: "chatRoomUpdated", data: simplifiedChatRoomJson(event.info) };
    case "room_deleted":
    case "room_removed":
      return room?.kind === "live"
        ? null
        : { event: "chatRoomDeleted", data: { chat_room_uuid: event.room } };
    // Following "rooms" follows every room in full, so the member's own read comes as the room's `read`; the
    // user object's `room_read` is for sessions that do not follow the room.
    case "read":
    case "room_read":
      return (event.type === "room_read" || event.user_id === me) && room?.kind !== "live"
        ? { event: "chatRoomRead", data: { chat_room_uuid: event.room } }
        : null;
    case "room_pinned":
      return listed
        ? { event: "chatRoomPinned", data: { chat_room_id: room.number, pinned_at: event.pinned_at } }
        : null;
    case "room_unpinned":
      return listed ? { event: "chatRoomUnPinned", data: { chat_room_id: room.number } } : null;
    case "message":
      return listed && event.message.parent_id === null
        ? { event: "newMessage", data: jsonMessage(event.message, room) }
        : null;
    default:
      return null;
  }
}

/** What `Chats::CommunityMemberThreadsChannel` broadcasts: the thread messages of the member's rooms. */
function threadsChannelMessage(event: ChatEvent, room: RoomBrief | null): ChannelMessage | null {
  if (room === null) return null;
  switch (event.type) {
    case "message":
      return event.message.parent_id === null
        ? null
        : { event: "newMessage", data: jsonMessage(event.message, room) };
    case "message_updated":
      return inThread(event.message)
        ? { event: "updatedMessage", data: jsonMessage(event.message, room) }
        : null;
    case "message_deleted":
      return inThread(event.message) || event.parent !== null
        ? { event: "deletedMessage", data: deletedMessageJson(event.message, event.parent, room) }
        : null;
    case "thread_read":
      return {
        event: "chatThreadRead",
        data: { chat_thread_id: messageNumber(room.number, event.thread_seq) },
      };
    default:
      return null;
  }
}

function notificationChannelMessage(event: ChatEvent, ctx: SessionContext): ChannelMessage | null {
  switch (event.type) {
    case "notification":
      return {
        event: "newNotification",
        data: notificationJson(event.notification, ctx.roomInfo(event.notification.room)),
      };
    case "notification_count":
      return { event: "updateNewNotificationCount", data: { new_notifications_count: event.unread } };
    case "notifications_reset":
      return { event: "resetNewNotificationCount", data: { new_notifications_count: 0 } };
    default:
      return null;
  }
}

/** The message one channel kind makes of an event for `me`, or null when that channel does not carry it. */
function channelMessage(channel: ChannelKind, event: ChatEvent, me: string, ctx: SessionContext) {
  const isAboutMessage =
    event.type === "message" || event.type === "message_updated" || event.type === "message_deleted";
  if (isAboutMessage && !eventVisibleTo(event, me)) return null;
  const room = "room" in event ? ctx.roomInfo(event.room) : null;
  switch (channel) {
    case "room":
      return room && roomChannelMessage(event, room);
    case "rooms":
      return roomsChannelMessage(event, room, me);
    case "threads":
      return threadsChannelMessage(event, room);
    case "notifications":
      return notificationChannelMessage(event, ctx);
  }
}

/** A durable room event's position on its room's stream, named by the room's key (extended protocol). */
function streamPosition(event: ChatEvent, ctx: SessionContext) {
  if (!isDurable(event)) return null;
  const room = ctx.roomInfo(event.room);
  return room ? { stream: event.room, seq: event.seq, epoch: room.epoch } : null;
}

/**
 * The community platform's ActionCable channels (seed 003) over Rails' `actioncable-v1-json` and AnyCable's
 * `actioncable-v1-ext-json`, on the user socket `/cable`. See docs/dialects/actioncable.md.
 */
export const actionCableCodec: Codec<ActionCableState, ActionCableTag> = {
  name: "actioncable",
  endpoints: [{ path: "/cable", scope: "user" }],
  auth: "url",
  chooseSubprotocol(offered) {
    const names = offered.map((name) => name.trim());
    if (names.includes(ACTIONCABLE_EXT_SUBPROTOCOL)) return ACTIONCABLE_EXT_SUBPROTOCOL;
    if (names.includes(ACTIONCABLE_SUBPROTOCOL)) return ACTIONCABLE_SUBPROTOCOL;
    // A client that offers protocols but neither of these would close the socket itself on open.
    return names.length === 0 ? null : false;
  },
  tokenFromSubprotocols(offered) {
    const offer = offered
      .map((name) => name.trim())
      .find((name) => name.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
    const token = offer?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    return token ? token : null;
  },
  initialState: (ctx) => ({
    ext: ctx.subprotocol === ACTIONCABLE_EXT_SUBPROTOCOL,
    subscriptions: [],
    restored: null,
  }),
  resume: {
    param: "sid",
    header: "X-AnyCable-Restore-Sid",
    keepMs: SESSION_KEEP_MS,
    restore(previous, ctx) {
      if (!previous.ext || ctx.subprotocol !== ACTIONCABLE_EXT_SUBPROTOCOL) return null;
      const subscriptions = previous.subscriptions.filter((sub) => sub.confirmed);
      const distinct = subscriptions.filter(
        (sub, i) => subscriptions.findIndex((o) => sameTarget(o, sub)) === i,
      );
      return {
        state: { ext: true, subscriptions, restored: subscriptions.map((sub) => sub.identifier) },
        commands: distinct.map((sub) => ({
          command: startCommand(sub),
          tag: { answer: "restore" } as const,
        })),
      };
    },
  },
  open(state, ctx) {
    const session = state.ext ? { sid: ctx.sessionId, restoredIds: state.restored } : null;
    return {
      state: state.restored === null ? state : { ...state, restored: null },
      frames: [welcomeFrame(session)],
    };
  },
  heartbeat: {
    intervalMs: PING_INTERVAL_MS,
    // Rails clients send nothing back (the extended one may pong): a dead socket is found by its TCP close.
    beat: (state, ctx) => ({ state, frames: [pingFrame(ctx.now())] }),
  },
  closeFrames(_state, close) {
    const { reason, reconnect } = DISCONNECTS[close.code] ?? OTHER_CLOSE;
    return [disconnectFrame(reason, reconnect)];
  },

  /** Rails answers nothing to a frame it cannot read or a command it does not know (it logs them), nor does Parley. */
  decode(state, raw, ctx) {
    const turn: Turn = { state, commands: [], replies: [] };
    const me = ctx.user?.id;
    if (me === undefined || frameBytes(raw) > ctx.maxFrameBytes) return turn;
    const text = frameText(raw);
    const frame = text === null ? null : parseObject(text);
    const identifier = frame && identifierOf(frame);
    // Every command the session serves names a subscription; `pong`, `whisper`, `join` and `leave` need no answer.
    if (!frame || !identifier) return turn;
    switch (frame.command) {
      case "subscribe":
        subscribe(turn, identifier, frame.history, me);
        break;
      case "unsubscribe":
        unsubscribe(turn, identifier);
        break;
      case "message":
        perform(turn, identifier, frame.data, ctx);
        break;
      case "history":
        if (state.ext) replayHistory(turn, identifier, frame.history);
        break;
      case "presence":
        // Presence is not served; of its commands only this request waits for an answer.
        if (state.ext) turn.replies.push(presenceErrorFrame(identifier));
        break;
    }
    return turn;
  },

  encodeOutcome(state, tag, command, outcome, ctx) {
    switch (tag.answer) {
      case "subscription":
        return answerSubscriptions(state, command, outcome, ctx);
      case "history": {
        if (!findSubscription(state, tag.identifier)) return { state, frames: [] };
        return {
          state,
          frames: [identifierFrame(tag.identifier, outcome.ok ? "confirm_history" : "reject_history")],
        };
      }
      case "restore": {
        if (outcome.ok) return { state, frames: [] };
        const kept = state.subscriptions.filter((sub) => !servedBy(sub, command));
        return { state: withSubscriptions(state, kept), frames: [] };
      }
      case "action":
        return {
          state,
          frames: outcome.ok
            ? []
            : [errorFrame(tag.identifier, tag.action, outcome.error, tag.creation_uuid)],
        };
      case "none":
        return { state, frames: [] };
    }
  },

  encodeEvent(state, event, ctx) {
    const me = ctx.user?.id;
    if (me === undefined) return [];
    // Subscriptions of one channel kind share the event's message: it is built once per kind.
    const messages = new Map<ChannelKind, ChannelMessage | null>();
    const frames: string[] = [];
    for (const sub of state.subscriptions) {
      if (!sub.confirmed || (sub.channel === "room" && !("room" in event && event.room === sub.key)))
        continue;
      let message = messages.get(sub.channel);
      if (message === undefined) {
        message = channelMessage(sub.channel, event, me, ctx);
        messages.set(sub.channel, message);
      }
      if (message === null) continue;
      const position = state.ext && sub.channel === "room" ? streamPosition(event, ctx) : null;
      frames.push(dataFrame(sub.identifier, message, position));
    }
    return frames;
  },
  /** Rails clients send no keepalive; the server's pings keep them from counting the connection stale. */
  idleLimitMs: () => null,
  /** Each ActionCable message is one JSON object. */
  batch: (frames) => frames,
};
