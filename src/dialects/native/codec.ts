import { z } from "zod";
import { FRAME_JSON_LIMITS, jsonBoundsIssue } from "../../domain/bounds";
import { CloseCode } from "../../domain/close-codes";
import type { Command, CommandOutcome } from "../../domain/commands";
import { closeFor } from "../../domain/errors";
import type { ChatEvent } from "../../domain/events";
import {
  boundedJsonSchema,
  draftSchema,
  firstIssue,
  sinceSchema,
  userIdSchema,
} from "../../domain/validation";
import type { Codec, Decoded, SessionContext } from "../codec";
import { frameBytes, frameJson } from "../frame-text";

/** The native protocol's WebSocket subprotocol. A client that offers subprotocols must offer this one. */
export const NATIVE_SUBPROTOCOL = "parley.v1";

/** Session state: only the frames dropped for being malformed, so repeated abuse can be closed. */
export interface NativeState {
  strikes: number;
}

/** The correlation a reply needs: the client's request id and, for sends, its temp id. */
export interface NativeTag {
  id?: string;
  temp_id?: string;
}

/** Native clients send the "\n" keepalive every 25 s; three missed ones mean the peer is gone. */
export const NATIVE_IDLE_LIMIT_MS = 90_000;

/** After this many malformed frames the socket is closed with 4010. */
export const MAX_STRIKES = 5;

const requestId = z.string().max(128).optional();
const followScope = z.enum(["rooms", "threads", "notifications"]);
/** A history page when the frame names no `limit`. */
const DEFAULT_HISTORY_PAGE = 50;
const roomKey = z.string().min(1).max(160);

/** A message by id, or by its seq in the room. */
const messageRef = z.union([z.string().min(1).max(64), z.object({ seq: z.number().int().min(1) })]);
const messageId = z.string().min(1).max(64);
const roomOnly = { id: requestId, room: roomKey.optional() };

const draft = draftSchema
  .omit({ type: true })
  .extend({ message_type: z.enum(["text", "command"]).optional() });

const frameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auth"), id: requestId, token: z.string().min(1).max(8192) }),
  z.object({
    type: z.literal("subscribe"),
    id: requestId,
    room: roomKey.optional(),
    since: sinceSchema.nullish(),
    /** The epoch the client saw with `since`: a room re-created since then answers `conflict`. */
    epoch: z.string().max(64).nullish(),
  }),
  z.object({ type: z.literal("unsubscribe"), id: requestId, room: roomKey.optional() }),
  draft.extend({ type: z.literal("send"), id: requestId, room: roomKey.optional() }),
  draft.extend({ type: z.literal("dm"), id: requestId, to: userIdSchema }),
  z.object({ type: z.literal("typing"), id: requestId, room: roomKey.optional(), typing: z.boolean() }),
  z.object({ type: z.literal("read"), id: requestId, room: roomKey.optional(), seq: sinceSchema }),
  z.object({ type: z.literal("watch"), id: requestId, user: userIdSchema }),
  z.object({ type: z.literal("unwatch"), id: requestId, user: userIdSchema }),
  z.object({ type: z.literal("refresh"), id: requestId, token: z.string().min(1).max(8192) }),
  z.object({ type: z.literal("follow"), id: requestId, scope: followScope }),
  z.object({ type: z.literal("unfollow"), id: requestId, scope: followScope }),
  z.object({
    type: z.literal("edit"),
    ...roomOnly,
    message_id: messageRef,
    text: z.string(),
    data: boundedJsonSchema.optional(),
  }),
  z.object({ type: z.literal("delete"), ...roomOnly, message_id: messageRef }),
  z.object({
    type: z.literal("react"),
    ...roomOnly,
    message_id: messageId,
    emoji: z.string().min(1).max(64),
    toggle: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("unreact"),
    ...roomOnly,
    message_id: messageId,
    emoji: z.string().min(1).max(64),
  }),
  z.object({ type: z.literal("pin"), ...roomOnly, message_id: messageId }),
  z.object({ type: z.literal("unpin"), ...roomOnly, message_id: messageId }),
  z.object({ type: z.literal("pin_room"), ...roomOnly }),
  z.object({ type: z.literal("unpin_room"), ...roomOnly }),
  z.object({ type: z.literal("read_thread"), ...roomOnly, thread_id: messageRef }),
  z.object({
    type: z.literal("history"),
    ...roomOnly,
    before: sinceSchema.optional(),
    after: sinceSchema.optional(),
    before_at: z.iso.datetime().optional(),
    thread_id: messageId.optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  }),
  z.object({
    type: z.literal("notifications_read"),
    id: requestId,
    notification_id: z.string().max(64).nullish(),
  }),
]);

type Frame = z.infer<typeof frameSchema>;

function toCommand(frame: Frame, ctx: SessionContext): Command | string {
  switch (frame.type) {
    case "auth":
      return { kind: "auth", token: frame.token };
    case "refresh":
      return { kind: "refresh_token", token: frame.token };
    case "dm":
      return { kind: "send_direct", to: frame.to, draft: draftOf(frame) };
    case "watch":
      return { kind: "watch", user: frame.user };
    case "unwatch":
      return { kind: "unwatch", user: frame.user };
    case "follow":
      return { kind: "follow", scope: frame.scope };
    case "unfollow":
      return { kind: "unfollow", scope: frame.scope };
    case "notifications_read":
      return { kind: "notifications_read", id: frame.notification_id ?? null };
    default: {
      const room = frame.room ?? ctx.room;
      return room ? roomCommand(frame, room) : "room is required on the user socket";
    }
  }
}

type RoomFrame = Exclude<
  Frame,
  { type: "auth" | "refresh" | "dm" | "watch" | "unwatch" | "follow" | "unfollow" | "notifications_read" }
>;

function roomCommand(frame: RoomFrame, room: string): Command {
  switch (frame.type) {
    case "subscribe":
      return { kind: "subscribe", room, since: frame.since ?? null, epoch: frame.epoch ?? null };
    case "unsubscribe":
      return { kind: "unsubscribe", room };
    case "typing":
      return { kind: "typing", room, typing: frame.typing };
    case "read":
      return { kind: "read", room, seq: frame.seq };
    case "send":
      return { kind: "send", room, draft: draftOf(frame) };
    case "edit":
      return {
        kind: "edit",
        room,
        message_id: frame.message_id,
        text: frame.text,
        ...(frame.data !== undefined ? { data: frame.data } : {}),
      };
    case "delete":
      return { kind: "delete", room, message_id: frame.message_id };
    case "react":
    case "unreact":
      return {
        kind: "react",
        room,
        message_id: frame.message_id,
        emoji: frame.emoji,
        add: frame.type === "unreact" ? false : frame.toggle ? "toggle" : true,
      };
    case "pin":
    case "unpin":
      return { kind: "pin_message", room, message_id: frame.message_id, pinned: frame.type === "pin" };
    case "pin_room":
    case "unpin_room":
      return { kind: "pin_room", room, pinned: frame.type === "pin_room" };
    case "read_thread":
      return { kind: "read_thread", room, thread_id: frame.thread_id };
    case "history": {
      const { before, after, before_at, thread_id, limit } = frame;
      return {
        kind: "history",
        room,
        query: {
          limit: limit ?? DEFAULT_HISTORY_PAGE,
          ...(before !== undefined ? { before } : {}),
          ...(after !== undefined ? { after } : {}),
          ...(before_at !== undefined ? { before_at } : {}),
          ...(thread_id !== undefined ? { thread_id } : {}),
        },
      };
    }
  }
}

function draftOf(frame: Extract<Frame, { type: "send" | "dm" }>) {
  return {
    temp_id: frame.temp_id,
    text: frame.text,
    type: frame.message_type ?? "text",
    custom_type: frame.custom_type ?? null,
    data: frame.data ?? null,
    to: frame.type === "send" ? (frame.to ?? null) : null,
    parent_id: frame.parent_id ?? null,
  };
}

function protocolError(state: NativeState, message: string, id?: string): Decoded<NativeState, NativeTag> {
  const strikes = state.strikes + 1;
  const reply = JSON.stringify({ type: "error", ...(id ? { id } : {}), code: "bad_request", message });
  return {
    state: { strikes },
    commands: [],
    replies: [reply],
    ...(strikes >= MAX_STRIKES
      ? { close: { code: CloseCode.BadMessageStructure, reason: "too many malformed frames" } }
      : {}),
  };
}

function answer(tag: NativeTag, command: Command, outcome: CommandOutcome): Record<string, unknown> {
  const ids = { ...(tag.id ? { id: tag.id } : {}), ...(tag.temp_id ? { temp_id: tag.temp_id } : {}) };
  if (!outcome.ok) return { type: "error", ...ids, ...outcome.error };
  const result = outcome.value;
  switch (result.kind) {
    case "auth":
      return { type: "welcome", ...ids, user: result.user };
    case "sent":
      // `id` is the message id here (the issue's ack shape); a send correlates by its temp id.
      return { type: "ack", room: result.room, ...result.ack };
    case "subscribed":
      return { type: "subscribed", ...ids, room: result.room, head: result.head, epoch: result.epoch };
    case "unsubscribed":
      return { type: "unsubscribed", ...ids, room: result.room };
    case "watching":
      return {
        type: "watching",
        ...ids,
        user: result.user,
        online: result.online,
        last_seen: result.last_seen,
      };
    case "unwatched":
      return { type: "unwatched", ...ids, user: result.user };
    case "read":
      return { type: "ok", ...ids, room: result.room, seq: result.seq };
    case "typing":
      return { type: "ok", ...ids, command: command.kind };
    default: {
      // The lifecycle results answer as themselves: `{type: "edited", id, room, message}` and the like.
      const { kind, ...fields } = result;
      return { type: kind, ...ids, ...fields };
    }
  }
}

export const nativeCodec: Codec<NativeState, NativeTag> = {
  name: "native",
  endpoints: [
    { path: "/v1/ws", scope: "user" },
    { path: "/v1/rooms/:room/ws", scope: "room" },
  ],
  auth: "first_frame",
  // A client that offers subprotocols must offer ours; one that offers none is served as well.
  chooseSubprotocol: (offered) =>
    offered.length === 0 ? null : offered.includes(NATIVE_SUBPROTOCOL) ? NATIVE_SUBPROTOCOL : false,
  initialState: () => ({ strikes: 0 }),
  decode(state, raw, ctx) {
    if (frameBytes(raw) > ctx.maxFrameBytes) {
      return {
        ...protocolError(state, `frame is larger than ${ctx.maxFrameBytes} bytes`),
        replies: [
          JSON.stringify({
            type: "error",
            code: "payload_too_large",
            message: `frame is larger than ${ctx.maxFrameBytes} bytes`,
          }),
        ],
      };
    }
    const json = frameJson(raw);
    if (json === undefined) return protocolError(state, "frame is not UTF-8 JSON");
    // Only an id the schema would accept is echoed, so a refusal never repeats a huge one.
    const id =
      typeof json === "object" && json && "id" in json ? requestId.safeParse(json.id).data : undefined;
    const tooComplex = jsonBoundsIssue(json, FRAME_JSON_LIMITS);
    if (tooComplex !== null) return protocolError(state, `frame: ${tooComplex}`, id);
    const parsed = frameSchema.safeParse(json);
    if (!parsed.success) return protocolError(state, firstIssue(parsed.error), id);
    const frame = parsed.data;
    if (frame.type !== "auth" && !ctx.user) return protocolError(state, "authenticate first", id);
    const command = toCommand(frame, ctx);
    if (typeof command === "string") return protocolError(state, command, id);
    const tag: NativeTag = {
      ...(frame.id ? { id: frame.id } : {}),
      ...("temp_id" in frame ? { temp_id: frame.temp_id } : {}),
    };
    return { state, commands: [{ command, tag }], replies: [] };
  },
  encodeOutcome(state, tag, command, outcome) {
    const reply = answer(tag, command, outcome);
    if (!outcome.ok && command.kind === "auth") {
      // A bad token closes with 4002; a good token for a room the user may not enter with 4012.
      return { state, frames: [JSON.stringify(reply)], close: closeFor(outcome.error) };
    }
    return { state, frames: [JSON.stringify(reply)] };
  },
  encodeEvent: (_state, event: ChatEvent) => [JSON.stringify(event)],
  eventEncodingIsShared: true,
  idleLimitMs: () => NATIVE_IDLE_LIMIT_MS,
  batch: (frames) => (frames.length <= 1 ? frames : [`{"type":"batch","events":[${frames.join(",")}]}`]),
};
