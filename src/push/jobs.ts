import { z } from "zod";
import type { Member, Message, Profile, ReactionSummary, RoomKind } from "../domain/model";
import { firstIssue } from "../domain/validation";
import type { PushIntent } from "./decision";

/** A notification for one user, sent to each of the user's devices. */
export interface MessagePushJob {
  kind: "message";
  /** Stable per user and message, so enqueuing the same push twice sends it once per device. */
  job_id: string;
  user_id: string;
  room: string;
  room_kind: RoomKind;
  /** How many messages this notification stands for; `message` is the newest of them. */
  count: number;
  message: Message;
  title: string;
  body: string;
}

export const WEBHOOK_EVENTS = [
  "message.created",
  "message.updated",
  "message.deleted",
  "reaction.changed",
  "message.pinned",
  "member.joined",
  "member.left",
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Each webhook event with the payload its receivers get under `data`. */
export type WebhookEvent =
  | {
      event: "message.created" | "message.updated" | "message.deleted";
      /** `message.updated` says what changed (`edit`, or `thread` on a root a reply changed). */
      payload: { room: string; message: Message; change?: "edit" | "thread" };
    }
  | {
      event: "reaction.changed";
      payload: {
        room: string;
        message: Message;
        emoji: string;
        user: Profile;
        added: boolean;
        reactions: ReactionSummary[];
      };
    }
  | { event: "message.pinned"; payload: { room: string; message: Message; pinned: boolean; by: Profile } }
  | { event: "member.joined"; payload: { room: string; member: Member; profile: Profile } }
  | {
      event: "member.left";
      payload: { room: string; user_id: string; reason: "left" | "removed" | "banned" };
    };

/** One signed POST of one event to one configured endpoint. */
export type WebhookJob = {
  kind: "webhook";
  /** Stable per event occurrence: a receiver sees it as `Parley-Delivery` and may dedupe on it. */
  job_id: string;
  url: string;
  /** When the event happened (ISO 8601), unchanged across retries. */
  occurred_at: string;
} & WebhookEvent;

/** A unit of work on the push queue. */
export type PushJob = MessagePushJob | WebhookJob;

/** Notification texts are cut to stay well inside FCM's and APNs' 4 KiB payload limits. */
const ALERT_BODY_BYTES = 512;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character, marking the cut with "…". */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  const budget = maxBytes - encoder.encode("…").length;
  let used = 0;
  let cut = "";
  for (const char of text) {
    used += encoder.encode(char).length;
    if (used > budget) break;
    cut += char;
  }
  return `${cut}…`;
}

/** The visible alert: the sender as title, the newest text as body, plus how many more it stands for. */
export function pushAlert(message: Message, count: number): { title: string; body: string } {
  const more = count > 1 ? ` (+${count - 1} more)` : "";
  return {
    title: message.sender.name ?? message.sender.id,
    body: truncateUtf8(message.text, ALERT_BODY_BYTES - new TextEncoder().encode(more).length) + more,
  };
}

export function messagePushJob(userId: string, intent: PushIntent): MessagePushJob {
  return {
    kind: "message",
    job_id: `push:${userId}:${intent.message.id}`,
    user_id: userId,
    room: intent.room,
    room_kind: intent.room_kind,
    count: intent.count,
    message: intent.message,
    ...pushAlert(intent.message, intent.count),
  };
}

function isPushableMessage(value: unknown): value is Message {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  const sender = m.sender as Record<string, unknown> | null | undefined;
  return (
    typeof m.id === "string" &&
    typeof m.room === "string" &&
    typeof m.seq === "number" &&
    typeof m.text === "string" &&
    typeof m.created_at === "string" &&
    typeof sender === "object" &&
    sender !== null &&
    typeof sender.id === "string" &&
    (sender.name === null || typeof sender.name === "string")
  );
}

const queuedJobSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("message"),
    job_id: z.string().min(1),
    user_id: z.string().min(1),
    room: z.string().min(1),
    room_kind: z.enum(["group", "direct", "live"]),
    count: z.number().int().positive(),
    message: z.custom<Message>(isPushableMessage, "message is not a chat message"),
    title: z.string(),
    body: z.string(),
  }),
  z.object({
    kind: z.literal("webhook"),
    job_id: z.string().min(1),
    url: z.url({ protocol: /^https?$/ }),
    occurred_at: z.string().min(1),
    event: z.enum(WEBHOOK_EVENTS),
    payload: z.record(z.string(), z.unknown()),
  }),
]);

/**
 * A job as the consumer reads it back from the queue: checked, because a body replayed from the dead-letter
 * queue or written by an older deploy is not guaranteed to match today's types. Webhook payloads are forwarded
 * verbatim, so only their shape as a JSON object is checked.
 */
export type QueuedJob = z.infer<typeof queuedJobSchema>;

export function parsePushJob(body: unknown): { ok: true; job: QueuedJob } | { ok: false; error: string } {
  const parsed = queuedJobSchema.safeParse(body);
  return parsed.success ? { ok: true, job: parsed.data } : { ok: false, error: firstIssue(parsed.error) };
}
