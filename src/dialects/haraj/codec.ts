import { z } from "zod";
import { FRAME_JSON_LIMITS, jsonBoundsIssue } from "../../domain/bounds";
import type { Command, CommandResult } from "../../domain/commands";
import type { ChatEvent } from "../../domain/events";
import { directRoomKey, directRoomUsers } from "../../domain/ids";
import { tempIdSchema } from "../../domain/validation";
import type { Codec, Decoded, SessionContext } from "../codec";
import { frameBytes, frameJson } from "../frame-text";
import { harajTopicId, harajTopicUsers, harajUserId, parseHarajUserId } from "./ids";
import {
  BAD_REQUEST,
  FORBIDDEN_ACCESS,
  type HarajError,
  type HarajPacket,
  harajError,
  harajMessagePacket,
  harajPresencePacket,
  harajReadsPacket,
  harajReply,
  harajTypingPacket,
  INVALID_ACCESS_TOKEN,
} from "./packets";

/** Session state, kept in the socket attachment. */
export interface HarajState {
  /** Peers whose online presence this socket listens to. */
  listening: string[];
  /** Sends decoded without a client temp id, numbering the temp ids derived for them. */
  sends: number;
}

/** What a reply needs: the request id it echoes and, for a send, the client's temp id. */
export interface HarajTag {
  id: string;
  temp_id?: string;
}

/** Listened peers per socket, bounding the attachment (16 KiB, shared with the host). */
export const MAX_LISTENED_PEERS = 64;

const MAX_REQUEST_ID_CHARS = 256;
const requestId = z.string().min(1).max(MAX_REQUEST_ID_CHARS);
const topicId = z.string().max(300);
const peerBody = z.object({ id: requestId, peer_id: z.union([z.number(), z.string()]) });
const topicBody = z.object({ id: requestId, topic_id: topicId });

/** One command per frame: `{"<command>": {"id": ..., ...}}`. Unknown fields inside a command are ignored. */
const frameSchema = z.union([
  z.strictObject({ auth: z.object({ id: requestId, access_token: z.string().min(1).max(8192) }) }),
  z.strictObject({ listen: peerBody }),
  z.strictObject({ unlisten: peerBody }),
  z.strictObject({ send: topicBody.extend({ text: z.string(), temp_id: tempIdSchema.optional() }) }),
  z.strictObject({
    read: topicBody.extend({ seq_id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  }),
  z.strictObject({ typing: topicBody }),
  z.strictObject({ stop_typing: topicBody }),
]);

/** Every frame but `auth`: the commands that need an authenticated session. */
type SessionFrame = Exclude<z.infer<typeof frameSchema>, { auth: unknown }>;

type Translation = { state: HarajState; command: Command; tag: HarajTag } | HarajError;

/** The direct room a topic names, as seen by `me`: 400 when it is no topic id, 403 when `me` is not in it. */
function topicOf(topic: string, me: string): { room: string; peer: string } | HarajError {
  const users = harajTopicUsers(topic);
  if (!users) return BAD_REQUEST;
  const [low, high] = users;
  if (me !== low && me !== high) return FORBIDDEN_ACCESS;
  return { room: directRoomKey(low, high), peer: me === low ? high : low };
}

function translate(frame: SessionFrame, state: HarajState, me: string, ctx: SessionContext): Translation {
  if ("listen" in frame) {
    const peer = parseHarajUserId(frame.listen.peer_id);
    if (peer === null) return BAD_REQUEST;
    const full = !state.listening.includes(peer) && state.listening.length >= MAX_LISTENED_PEERS;
    return full
      ? BAD_REQUEST
      : { state, command: { kind: "watch", user: peer }, tag: { id: frame.listen.id } };
  }
  if ("unlisten" in frame) {
    const peer = parseHarajUserId(frame.unlisten.peer_id);
    if (peer === null) return BAD_REQUEST;
    return { state, command: { kind: "unwatch", user: peer }, tag: { id: frame.unlisten.id } };
  }
  if ("send" in frame) {
    const { id, topic_id, text, temp_id } = frame.send;
    const topic = topicOf(topic_id, me);
    if ("status" in topic) return topic;
    const draft = { temp_id: temp_id ?? `${ctx.sessionId}:${state.sends}`, text };
    const command: Command = { kind: "send_direct", to: topic.peer, draft };
    return temp_id === undefined
      ? { state: { ...state, sends: state.sends + 1 }, command, tag: { id } }
      : { state, command, tag: { id, temp_id } };
  }
  if ("read" in frame) {
    const topic = topicOf(frame.read.topic_id, me);
    if ("status" in topic) return topic;
    return {
      state,
      command: { kind: "read", room: topic.room, seq: frame.read.seq_id },
      tag: { id: frame.read.id },
    };
  }
  const typing = "typing" in frame;
  const body = "typing" in frame ? frame.typing : frame.stop_typing;
  const topic = topicOf(body.topic_id, me);
  if ("status" in topic) return topic;
  return { state, command: { kind: "typing", room: topic.room, typing }, tag: { id: body.id } };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The request id of a one-command frame, when there is one to echo even though the frame is refused. */
function readableId(json: unknown): string | null {
  if (!isRecord(json)) return null;
  const keys = Object.keys(json);
  const body = keys.length === 1 && keys[0] !== undefined ? json[keys[0]] : undefined;
  if (!isRecord(body)) return null;
  return requestId.safeParse(body.id).data ?? null;
}

function reply(
  id: string | null,
  result: { data: Record<string, unknown> } | HarajError,
  ctx: SessionContext,
): string {
  return harajReply(id, result, ctx.now());
}

function refuse(
  state: HarajState,
  id: string | null,
  error: HarajError,
  ctx: SessionContext,
): Decoded<HarajState, HarajTag> {
  return { state, commands: [], replies: [reply(id, error, ctx)] };
}

function withPeer(listening: string[], peer: string): string[] {
  return listening.includes(peer) ? listening : [...listening, peer];
}

/** The reply data of a successful command other than auth, and the state it leaves. */
function success(
  state: HarajState,
  tag: HarajTag,
  command: Command,
  result: Exclude<CommandResult, { kind: "auth" }>,
  me: string,
): { state: HarajState; data: Record<string, unknown> } {
  const userId = harajUserId(me);
  switch (result.kind) {
    case "watching":
      return {
        state: { ...state, listening: withPeer(state.listening, result.user) },
        data: { user_id: userId, peer_id: harajUserId(result.user), is_online: result.online },
      };
    case "unwatched":
      return {
        state: { ...state, listening: state.listening.filter((peer) => peer !== result.user) },
        data: { user_id: userId, peer_id: harajUserId(result.user) },
      };
    case "sent": {
      const tempId = tag.temp_id === undefined ? {} : { temp_id: tag.temp_id };
      const data = {
        topic_id: harajTopicId(result.room),
        seq_id: result.ack.seq,
        ...tempId,
        ts: result.ack.created_at,
      };
      return { state, data };
    }
    case "read":
      return { state, data: { topic_id: harajTopicId(result.room), seq_id: result.seq } };
    case "typing":
      return {
        state,
        data: {
          topic_id:
            command.kind === "typing" && typeof command.room === "string" ? harajTopicId(command.room) : null,
        },
      };
    case "subscribed":
    case "unsubscribed":
      return { state, data: { topic_id: harajTopicId(result.room) } };
    default:
      // Haraj frames decode to none of the other commands.
      return { state, data: {} };
  }
}

function belongsTo(room: string, me: string): boolean {
  return directRoomUsers(room)?.includes(me) ?? false;
}

/** The packet an event becomes for `me`. A user's own messages, reads and typing are not echoed back. */
function packetOf(state: HarajState, event: ChatEvent, me: string): HarajPacket | null {
  switch (event.type) {
    case "message":
      return event.message.sender.id !== me && belongsTo(event.room, me)
        ? harajMessagePacket(event.message)
        : null;
    case "read":
      return event.user_id !== me && event.message_seqs.length > 0 && belongsTo(event.room, me)
        ? harajReadsPacket(event)
        : null;
    case "typing":
      return event.user.id !== me && belongsTo(event.room, me) ? harajTypingPacket(event) : null;
    case "presence":
      return state.listening.includes(event.user_id) ? harajPresencePacket(event) : null;
    default:
      return null;
  }
}

/**
 * The Haraj P2P chat socket (seed 001): JSON commands `{"<command>": {"id", ...}}` answered with the request id,
 * and server packets for the direct rooms of the authenticated user. See docs/dialects/haraj.md.
 */
export const harajCodec: Codec<HarajState, HarajTag> = {
  name: "haraj",
  endpoints: [{ path: "/chat/ws", scope: "user" }],
  auth: "first_frame",
  // Haraj names no subprotocol; whatever a client offers is left unanswered.
  chooseSubprotocol: () => null,
  initialFollows: ["rooms"],
  // "A failed authentication leaves the socket open: the client may send auth again" (docs/dialects/haraj.md).
  retriesAuth: true,
  initialState: () => ({ listening: [], sends: 0 }),
  decode(state, raw, ctx) {
    if (frameBytes(raw) > ctx.maxFrameBytes) return refuse(state, null, BAD_REQUEST, ctx);
    const json = frameJson(raw);
    const id = readableId(json);
    if (jsonBoundsIssue(json, FRAME_JSON_LIMITS) !== null) return refuse(state, id, BAD_REQUEST, ctx);
    const parsed = frameSchema.safeParse(json);
    if (!parsed.success) return refuse(state, id, BAD_REQUEST, ctx);
    const frame = parsed.data;
    if ("auth" in frame) {
      const command: Command = { kind: "auth", token: frame.auth.access_token };
      return { state, commands: [{ command, tag: { id: frame.auth.id } }], replies: [] };
    }
    if (!ctx.user) return refuse(state, id, INVALID_ACCESS_TOKEN, ctx);
    const translation = translate(frame, state, ctx.user.id, ctx);
    if ("status" in translation) return refuse(state, id, translation, ctx);
    return {
      state: translation.state,
      commands: [{ command: translation.command, tag: translation.tag }],
      replies: [],
    };
  },
  encodeOutcome(state, tag, command, outcome, ctx) {
    if (!outcome.ok) return { state, frames: [reply(tag.id, harajError(outcome.error), ctx)] };
    const result = outcome.value;
    if (result.kind === "auth") {
      return { state, frames: [reply(tag.id, { data: { user_id: harajUserId(result.user.id) } }, ctx)] };
    }
    if (!ctx.user) return { state, frames: [reply(tag.id, INVALID_ACCESS_TOKEN, ctx)] };
    const answer = success(state, tag, command, result, ctx.user.id);
    return { state: answer.state, frames: [reply(tag.id, { data: answer.data }, ctx)] };
  },
  encodeEvent(state, event, ctx) {
    if (!ctx.user) return [];
    const packet = packetOf(state, event, ctx.user.id);
    return packet ? [JSON.stringify(packet)] : [];
  },
  /** The seed defines no client keepalive, so only a closed connection ends a Haraj session. */
  idleLimitMs: () => null,
  /** Haraj clients read one packet per WebSocket message, so a batch is sent as separate messages. */
  batch: (frames) => frames,
};
