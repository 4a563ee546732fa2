import type { ChatError } from "../../domain/errors";
import type { EphemeralEvent, UserEvent } from "../../domain/events";
import { directRoomUsers } from "../../domain/ids";
import type { Message } from "../../domain/model";
import { type HarajUserId, harajTopicId, harajUserId } from "./ids";

/** The body of a message packet, and the `xdata` of the FCM/APNs push that carries it. */
export interface HarajMessageBody {
  topic_id: string;
  seq_id: number;
  from_id: HarajUserId;
  name: string;
  content: { type: "text/plain"; payload: { text: string } };
  /** The recipient's id → whether it has read the message. */
  status: Record<string, boolean>;
  ts: string;
}

export type HarajPacket =
  | { message: HarajMessageBody }
  | { reads: { from_id: HarajUserId; topic_id: string; seq_ids: number[]; ts: string } }
  | { pres: { what: "online" | "offline"; from_id: HarajUserId; ts: string } }
  | { pres: { what: "typing" | "stop_typing"; from_id: HarajUserId; topic_id: string; ts: string } };

/**
 * A message as Haraj renders it, or null when Haraj cannot name it: not a text message, or not in a direct
 * room between two all-digit users. `recipientReadSeq` is the recipient's read marker when the caller knows
 * it; a message just sent is unread by construction.
 */
export function harajMessageBody(
  message: Message,
  recipientReadSeq: number | null = null,
): HarajMessageBody | null {
  if (message.type !== "text") return null;
  const topicId = harajTopicId(message.room);
  const users = directRoomUsers(message.room);
  if (!topicId || !users) return null;
  const [low, high] = users;
  const sender = message.sender.id;
  if (sender !== low && sender !== high) return null;
  const recipient = sender === low ? high : low;
  return {
    topic_id: topicId,
    seq_id: message.seq,
    from_id: harajUserId(sender),
    name: message.sender.name || sender,
    content: { type: "text/plain", payload: { text: message.text } },
    status: { [recipient]: recipientReadSeq !== null && recipientReadSeq >= message.seq },
    ts: message.created_at,
  };
}

export function harajMessagePacket(
  message: Message,
  recipientReadSeq: number | null = null,
): HarajPacket | null {
  const body = harajMessageBody(message, recipientReadSeq);
  return body ? { message: body } : null;
}

type ReadEvent = Extract<EphemeralEvent, { type: "read" }>;
type TypingEvent = Extract<EphemeralEvent, { type: "typing" }>;
type PresenceEvent = Extract<UserEvent, { type: "presence" }>;

export function harajReadsPacket(event: ReadEvent): HarajPacket | null {
  const topicId = harajTopicId(event.room);
  if (!topicId) return null;
  return {
    reads: {
      from_id: harajUserId(event.user_id),
      topic_id: topicId,
      seq_ids: event.message_seqs,
      ts: event.at,
    },
  };
}

export function harajTypingPacket(event: TypingEvent): HarajPacket | null {
  const topicId = harajTopicId(event.room);
  if (!topicId) return null;
  const what = event.typing ? "typing" : "stop_typing";
  return { pres: { what, from_id: harajUserId(event.user.id), topic_id: topicId, ts: event.at } };
}

export function harajPresencePacket(event: PresenceEvent): HarajPacket {
  return {
    pres: { what: event.online ? "online" : "offline", from_id: harajUserId(event.user_id), ts: event.at },
  };
}

/** An error as Haraj reports it: the HTTP-like status, the `err` constant and, when rate limited, the wait. */
export interface HarajError {
  status: 400 | 401 | 403 | 429 | 500;
  err: string;
  retry_after?: number;
}

export const BAD_REQUEST: HarajError = { status: 400, err: "ERR_BAD_REQUEST" };
export const INVALID_ACCESS_TOKEN: HarajError = { status: 401, err: "ERR_INVALID_ACCESS_TOKEN" };
export const FORBIDDEN_ACCESS: HarajError = { status: 403, err: "ERR_FORBIDDEN_ACCESS" };
const SERVER_INTERNAL_ERROR: HarajError = { status: 500, err: "ERR_SERVER_INTERNAL_ERROR" };

/**
 * Haraj documents 400, 401, 403 and 500; 429 is ours. A too-long text is the client's fault, so it is a 400
 * rather than a 500 that would invite a retry. The canonical message never reaches the client.
 */
export function harajError(error: ChatError): HarajError {
  switch (error.code) {
    case "bad_request":
    case "payload_too_large":
    case "content_refused":
      return BAD_REQUEST;
    case "unauthorized":
    case "invalid_token":
    case "token_expired":
      return INVALID_ACCESS_TOKEN;
    case "forbidden":
    case "not_found":
      return FORBIDDEN_ACCESS;
    case "rate_limited":
      return { status: 429, err: "ERR_TOO_MANY_REQUESTS", retry_after: error.retry_after ?? 1 };
    case "conflict":
    case "internal":
      return SERVER_INTERNAL_ERROR;
  }
}

/** A reply to a command: `id` echoes the request's, `ts` is the server's clock with milliseconds. */
export function harajReply(
  id: string | null,
  result: { data: Record<string, unknown> } | HarajError,
  now: Date,
): string {
  const head = id === null ? {} : { id };
  const body = "data" in result ? { status: 200, data: result.data } : result;
  return JSON.stringify({ ...head, ...body, ts: now.toISOString() });
}
