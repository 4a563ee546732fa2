import type { Message, Notification, Profile, Room } from "./model";

/**
 * Who gets which notification feed entry. A message gives each user at most one entry, the most specific that
 * applies: a mention (by id, or `@room` for every member), else a reply in a thread they follow, else a message in
 * their direct room. The sender never notifies themself, a whisper notifies at most its recipient, and command
 * messages (application instructions) and tombstones notify nobody. Edits notify nobody again: mentions are
 * fixed at send time.
 */

/** An entry before its user's feed gives it an id; `user_id` is whose feed it goes to. */
export type NotificationDraft = Omit<Notification, "id" | "read_at"> & { user_id: string };

/** A feed entry's preview of its message. */
export const PREVIEW_CHARS = 100;

export interface Audience {
  /** The room's members (who `@room` reaches, and the peer of a direct room). */
  members: readonly string[];
  /** For a reply: its thread's followers before it (the root's author and earlier repliers). */
  threadFollowers: readonly string[];
}

export function notificationsFor(
  message: Message,
  room: Pick<Room, "key" | "kind">,
  audience: Audience,
): NotificationDraft[] {
  if (message.deleted_at !== null || message.type === "command") return [];
  const kinds = new Map<string, Notification["kind"]>();
  const offer = (userId: string, kind: Notification["kind"]) => {
    if (userId === message.sender.id || kinds.has(userId)) return;
    if (message.to !== null && userId !== message.to) return;
    kinds.set(userId, kind);
  };
  for (const id of message.mentions) offer(id, "mention");
  if (message.mentions_room) for (const id of audience.members) offer(id, "mention");
  if (message.parent_id !== null) for (const id of audience.threadFollowers) offer(id, "reply");
  if (room.kind === "direct") for (const id of audience.members) offer(id, "direct");
  return [...kinds].map(([user_id, kind]) => ({
    user_id,
    kind,
    room: room.key,
    message_id: message.id,
    message_seq: message.seq,
    thread_id: message.parent_id,
    actor: message.sender,
    text: notificationPreview(message.text),
    created_at: message.created_at,
  }));
}

/** The entry for a user added to a room by someone else (joining or creating a room yourself notifies nobody). */
export function addedNotification(
  room: Pick<Room, "key">,
  actor: Profile,
  userId: string,
  at: string,
): NotificationDraft | null {
  if (actor.id === userId) return null;
  return {
    user_id: userId,
    kind: "added",
    room: room.key,
    message_id: null,
    message_seq: null,
    thread_id: null,
    actor,
    text: null,
    created_at: at,
  };
}

/** The first `PREVIEW_CHARS` characters (code points, so no emoji is cut in half); null for no text. */
export function notificationPreview(text: string): string | null {
  const chars = Array.from(text.trim());
  if (chars.length === 0) return null;
  return chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS).join("")}…` : chars.join("");
}
