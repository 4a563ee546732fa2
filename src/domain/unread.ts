import type { RoomEvent } from "./events";
import { eventVisibleTo, isDurable } from "./events";
import type { Message } from "./model";

/**
 * Whether a message counts toward `userId`'s unread in its room: someone else's, visible to them (not a whisper
 * to another), not deleted, and not a thread reply (replies count in their thread). The room list's D1 count
 * (`storage/room-index.ts`) applies the same rule.
 */
export function countsAsUnread(message: Message, userId: string): boolean {
  return (
    message.sender.id !== userId &&
    (message.to === null || message.to === userId) &&
    message.deleted_at === null &&
    message.parent_id === null
  );
}

/**
 * What a room tells a user's object when it attaches: the unread messages after the user's read marker, as of
 * the room's head `through`. The room's own log holds messages from `floor` on (their seqs are listed); older
 * unread ones are only counted (`older`, from D1).
 */
export interface UnreadSummary {
  through: number;
  floor: number;
  seqs: number[];
  older: number;
  /** Absent when the user can see no message in the room (optional rather than null: RPC-typed). */
  last_message?: Message;
}

/** One room's unread for one user, kept in memory by their object and moved by the room's live events. */
export interface RoomUnread {
  through: number;
  floor: number;
  seqs: Set<number>;
  older: number;
  last_message: Message | null;
}

export function roomUnread(summary: UnreadSummary): RoomUnread {
  return { ...summary, seqs: new Set(summary.seqs), last_message: summary.last_message ?? null };
}

export function unreadCount(unread: RoomUnread): number {
  return unread.seqs.size + unread.older;
}

/**
 * Applies a room's events after `through`, in order. Returns false when the counter cannot stay exact without
 * the room: a read marker or a deletion reached into history it holds only as a count.
 */
export function applyRoomEvents(unread: RoomUnread, events: RoomEvent[], userId: string): boolean {
  for (const event of events) {
    if (event.type === "read") {
      if (event.user_id !== userId) continue;
      for (const seq of unread.seqs) if (seq <= event.seq) unread.seqs.delete(seq);
      if (event.seq >= unread.floor - 1) unread.older = 0;
      else if (unread.older > 0) return false;
      continue;
    }
    // Durable events up to `through` were in the summary already.
    if (!isDurable(event) || event.seq <= unread.through) continue;
    unread.through = event.seq;
    if (event.type === "message") {
      if (countsAsUnread(event.message, userId)) unread.seqs.add(event.message.seq);
      if (eventVisibleTo(event, userId)) unread.last_message = event.message;
    } else if (event.type === "message_updated" || event.type === "message_deleted") {
      if (unread.last_message?.id === event.message.id) unread.last_message = event.message;
      if (event.type === "message_deleted") {
        if (event.message.seq < unread.floor && unread.older > 0) return false;
        unread.seqs.delete(event.message.seq);
      }
    }
  }
  return true;
}
