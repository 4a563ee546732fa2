import type { RoomEvent } from "./events";
import { eventVisibleTo, isDurable } from "./events";
import { countsAsUnread, inboxAfterDeletion } from "./lifecycle";
import { mentions } from "./mentions";
import type { Message } from "./model";

/**
 * What a room tells a user's object when it attaches: the unread messages after the user's read marker (the rule
 * of `countsAsUnread`), and which of them mention the user, as of the room's head `through`. The room's own log
 * holds messages from `floor` on (their seqs are listed); older unread ones are only counted (`older`,
 * `older_mentions`, from D1).
 */
export interface UnreadSummary {
  through: number;
  floor: number;
  seqs: number[];
  mention_seqs: number[];
  older: number;
  older_mentions: number;
  /** The newest message the user may see, a tombstone if deleted; absent when there is none (RPC-typed). */
  last_message?: Message;
}

/** One room's unread for one user, kept in memory by their object and moved by the room's live events. */
export interface RoomUnread {
  through: number;
  floor: number;
  seqs: Set<number>;
  mentionSeqs: Set<number>;
  older: number;
  olderMentions: number;
  last_message: Message | null;
}

export function roomUnread(summary: UnreadSummary): RoomUnread {
  return {
    through: summary.through,
    floor: summary.floor,
    seqs: new Set(summary.seqs),
    mentionSeqs: new Set(summary.mention_seqs),
    older: summary.older,
    olderMentions: summary.older_mentions,
    last_message: summary.last_message ?? null,
  };
}

export function unreadCount(unread: RoomUnread): number {
  return unread.seqs.size + unread.older;
}

export function mentionsCount(unread: RoomUnread): number {
  return unread.mentionSeqs.size + unread.olderMentions;
}

/**
 * Applies a room's events after `through`, in order. Returns false when the counter cannot stay exact without
 * the room: a read marker or a deletion reached into history it holds only as a count.
 */
export function applyRoomEvents(unread: RoomUnread, events: readonly RoomEvent[], userId: string): boolean {
  for (const event of events) {
    if (event.type === "read") {
      if (event.user_id !== userId) continue;
      for (const seq of unread.seqs) if (seq <= event.seq) unread.seqs.delete(seq);
      for (const seq of unread.mentionSeqs) if (seq <= event.seq) unread.mentionSeqs.delete(seq);
      if (event.seq >= unread.floor - 1) {
        unread.older = 0;
        unread.olderMentions = 0;
      } else if (unread.older > 0) return false;
      continue;
    }
    // Durable events up to `through` were in the summary already.
    if (!isDurable(event) || event.seq <= unread.through) continue;
    unread.through = event.seq;
    if (event.type === "message") {
      if (countsAsUnread(event.message, userId)) {
        unread.seqs.add(event.message.seq);
        if (mentions(event.message, userId)) unread.mentionSeqs.add(event.message.seq);
      }
      if (eventVisibleTo(event, userId)) unread.last_message = event.message;
    } else if (event.type === "message_deleted") {
      if (event.message.seq < unread.floor && unread.older > 0) return false;
      const after = inboxAfterDeletion(unread.last_message, event.message);
      unread.seqs.delete(after.unread_seq);
      unread.mentionSeqs.delete(after.unread_seq);
      unread.last_message = after.last_message;
    } else if (event.type === "message_updated" && unread.last_message?.id === event.message.id) {
      unread.last_message = event.message;
    }
  }
  return true;
}
