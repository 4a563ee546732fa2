import { fail, type Outcome, ok } from "./errors";
import type { DurableEvent, MessageChange } from "./events";
import type { Message, Room } from "./model";
import { canPinMessage, type Standing } from "./permissions";

/**
 * What edits, deletes, reactions and pins share: finding the message a command acts on, pins, the room list's
 * order, what a deletion does to an inbox, and rebuilding a resume from D1 rows.
 */

/** Whispers are seen by their sender and recipient only. */
export const visibleTo = (message: Pick<Message, "to" | "sender">, userId: string): boolean =>
  message.to === null || message.to === userId || message.sender.id === userId;

/**
 * The message a lifecycle command names. A missing message and a whisper between others are refused alike, so
 * a whisper's existence never leaks.
 */
export function targetOf(message: Message | null, actorId: string): Outcome<Message> {
  if (message === null || !visibleTo(message, actorId))
    return fail("not_found", "no such message in this room");
  return ok(message);
}

/** A message that can still be edited, reacted to, pinned or replied to. */
export function liveTargetOf(message: Message | null, actorId: string): Outcome<Message> {
  const target = targetOf(message, actorId);
  if (target.ok && target.value.deleted_at !== null) return fail("not_found", "the message was deleted");
  return target;
}

/** The result of a command that may find nothing to do: repeating one is an ok no-op with no new event. */
export type Change = { changed: false; message: Message } | { changed: true; message: Message };

// ---- pins ----

/** A room holds at most this many pinned messages (Slack's limit). */
export const MAX_PINNED_MESSAGES = 100;

/**
 * Pinning or unpinning a message in the room. Whispers cannot be pinned (a pin shows to everyone); pinning a
 * pinned message, or unpinning an unpinned one, changes nothing.
 */
export function planPin(
  target: Message | null,
  room: Room,
  actor: Standing,
  actorId: string,
  pinned: boolean,
  pinnedCount: number,
  now: number,
): Outcome<Change> {
  if (!canPinMessage(room, actor)) return fail("forbidden", "only owners and admins pin messages");
  const live = liveTargetOf(target, actorId);
  if (!live.ok) return live;
  const message = live.value;
  if (message.to !== null) return fail("bad_request", "a whisper cannot be pinned");
  if ((message.pinned_at !== null) === pinned) return ok({ changed: false, message });
  if (pinned && pinnedCount >= MAX_PINNED_MESSAGES)
    return fail("conflict", `a room holds at most ${MAX_PINNED_MESSAGES} pinned messages: unpin one first`);
  return ok({
    changed: true,
    message: { ...message, pinned_at: pinned ? new Date(now).toISOString() : null },
  });
}

/** What orders a member's room list: their pinned rooms first, newest pin first, then by last activity. */
export interface RoomOrderKey {
  pinned_at: string | null;
  /** The last message's time, else the room's creation. */
  active_at: string;
  number: number;
}

export function compareRoomListings(a: RoomOrderKey, b: RoomOrderKey): number {
  if ((a.pinned_at === null) !== (b.pinned_at === null)) return a.pinned_at === null ? 1 : -1;
  if (a.pinned_at !== null && b.pinned_at !== null && a.pinned_at !== b.pinned_at)
    return a.pinned_at < b.pinned_at ? 1 : -1;
  if (a.active_at !== b.active_at) return a.active_at < b.active_at ? 1 : -1;
  return b.number - a.number;
}

// ---- unread and inbox ----

/**
 * Whether a message counts in a member's room unread count: someone else's visible, undeleted top-level message.
 * Replies count in their thread's unread count instead (the threads channel), as in Slack.
 */
export const countsAsUnread = (message: Message, userId: string): boolean =>
  message.sender.id !== userId &&
  visibleTo(message, userId) &&
  message.deleted_at === null &&
  message.parent_id === null;

/**
 * What a deletion does to a member's inbox: the message no longer counts as unread, and when it was the inbox's
 * last message the tombstone takes its place (the list shows "message deleted", as D1's room list does, which
 * picks the newest visible row whatever its state) instead of an older message the member may never have seen.
 */
export function inboxAfterDeletion(
  lastMessage: Message | null,
  tombstone: Message,
): { unread_seq: number; last_message: Message | null } {
  return {
    unread_seq: tombstone.seq,
    last_message: lastMessage !== null && lastMessage.id === tombstone.id ? tombstone : lastMessage,
  };
}

// ---- resume from D1 ----

/** What last changed a message, as its D1 row records it: its posting, a `message_updated` change, or deletion. */
export type RowChange = "post" | MessageChange | "delete";

/** A message with its last change: what the D1 flush writes and what a resume from D1 reads back. */
export interface ChangedMessage {
  /** `message.changed_seq` is the seq of the event that made this change. */
  message: Message;
  change: RowChange;
  /** When that change happened. */
  at: string;
}

/** Where a row sits in a resume after `since`: at its own seq if the client never saw it, else at its last change. */
export const replayPosition = (row: ChangedMessage, since: number): number =>
  row.message.seq > since ? row.message.seq : row.message.changed_seq;

/**
 * The events a client that stopped at `since` needs, rebuilt from the D1 rows changed after it: a message it never
 * saw comes whole in its current state (a tombstone if deleted since); a message it saw comes as the event of its
 * last change. A deleted reply and its thread root share the deletion's seq and make one `message_deleted`.
 * Intermediate changes are gone from D1; the current state makes up for them.
 */
export function replayEvents(roomKey: string, rows: ChangedMessage[], since: number): DurableEvent[] {
  const ordered = [...rows].sort((a, b) => replayPosition(a, since) - replayPosition(b, since));
  const parentsTaken = new Set<string>();
  const events: DurableEvent[] = [];
  for (const row of ordered) {
    const { message, change, at } = row;
    if (message.seq > since) {
      events.push({ type: "message", room: roomKey, seq: message.seq, at: message.created_at, message });
    } else if (change === "delete") {
      const parent = ordered.find(
        (r) =>
          r.message.id === message.parent_id &&
          r.message.changed_seq === message.changed_seq &&
          r.message.seq <= since,
      );
      if (parent) parentsTaken.add(parent.message.id);
      const seq = message.changed_seq;
      events.push({
        type: "message_deleted",
        room: roomKey,
        seq,
        at,
        message,
        parent: parent?.message ?? null,
      });
    } else if (change !== "post") {
      events.push({ type: "message_updated", room: roomKey, seq: message.changed_seq, at, change, message });
    }
  }
  return events.filter(
    (e) => !(e.type === "message_updated" && e.change === "thread" && parentsTaken.has(e.message.id)),
  );
}
