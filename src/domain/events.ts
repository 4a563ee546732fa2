import type { Member, Message, Notification, Profile, ReactionSummary, Room } from "./model";

/**
 * The canonical events. Durable ones carry the room's sequence number `seq`, which totally orders every
 * durable event of a room with no gaps, and `at`, when the room recorded them; resuming replays them.
 * Ephemeral ones (typing, occupancy, reads, presence, inbox) carry no `seq` and are never replayed.
 */
/** What changed a message in a `message_updated` event. */
export type MessageChange = "edit" | "thread" | "reaction" | "pin";

export type DurableEvent =
  | { type: "message"; room: string; seq: number; at: string; message: Message }
  /**
   * The message after an edit (`change: "edit"`) or after its thread changed (`change: "thread"`). A resume
   * rebuilt from D1, where the individual `reaction_changed` / `message_pinned` events are gone, sends the
   * message's current state with `change: "reaction"` or `"pin"` instead.
   */
  | {
      type: "message_updated";
      room: string;
      seq: number;
      at: string;
      change: MessageChange;
      message: Message;
    }
  /** A tombstone: `message` is the wiped message (text empty, `deleted_at` set); `parent` its thread root now. */
  | {
      type: "message_deleted";
      room: string;
      seq: number;
      at: string;
      message: Message;
      parent: Message | null;
    }
  | {
      type: "reaction_changed";
      room: string;
      seq: number;
      at: string;
      message_id: string;
      message_seq: number;
      emoji: string;
      user: Profile;
      added: boolean;
      reactions: ReactionSummary[];
      /** The message with its new reactions, for dialects that re-send whole messages (DDP). */
      message: Message;
    }
  | {
      type: "message_pinned";
      room: string;
      seq: number;
      at: string;
      message: Message;
      pinned: boolean;
      by: Profile;
    }
  | { type: "member_joined"; room: string; seq: number; at: string; member: Member; profile: Profile }
  | {
      type: "member_left";
      room: string;
      seq: number;
      at: string;
      user_id: string;
      reason: "left" | "removed" | "banned";
    }
  | { type: "room_updated"; room: string; seq: number; at: string; info: Room }
  | { type: "room_deleted"; room: string; seq: number; at: string };

export type EphemeralEvent =
  /** A user's first connection to the room opened (join) or its last closed (leave): seed 000 semantics. */
  | {
      type: "occupancy";
      room: string;
      what: "join" | "leave";
      user: Profile;
      /** Users connected now. */
      participant_count: number;
      /** Distinct users who have ever joined. */
      total_user_count: number;
      at: string;
    }
  | { type: "typing"; room: string; user: Profile; typing: boolean; at: string }
  /** `user_id` has read up to `seq`; `message_seqs` are the others' messages newly covered by the marker. */
  | { type: "read"; room: string; user_id: string; seq: number; message_seqs: number[]; at: string };

export type RoomEvent = DurableEvent | EphemeralEvent;

/** A room as its member's room list shows it (the user socket's `room_added`). */
export interface RoomListing {
  room: Room;
  role: string | null;
  unread: number;
  mentions: number;
  last_message: Message | null;
  pinned_at: string | null;
}

/** Events a UserDO raises about its own user, not about a room's stream. */
export type UserEvent =
  | { type: "presence"; user_id: string; online: boolean; last_seen: string | null; at: string }
  | {
      type: "inbox";
      room: string;
      unread: number;
      mentions: number;
      last_message: Message | null;
      /** Unread across every room of the user. */
      total_unread: number;
    }
  /** The user became a member of a room (or created one): its events now reach the user socket. */
  | { type: "room_added"; room: string; listing: RoomListing | null }
  | { type: "room_removed"; room: string; reason: "left" | "removed" | "banned" }
  | { type: "room_read"; room: string; seq: number }
  | { type: "room_pinned"; room: string; pinned_at: string }
  | { type: "room_unpinned"; room: string }
  /** `thread_seq` is the thread root's seq. */
  | { type: "thread_read"; room: string; thread_id: string; thread_seq: number }
  | { type: "notification"; notification: Notification }
  | { type: "notification_count"; unread: number }
  | { type: "notifications_reset"; unread: 0 };

export type ChatEvent = RoomEvent | UserEvent;

const DURABLE_TYPES: ReadonlySet<string> = new Set<DurableEvent["type"]>([
  "message",
  "message_updated",
  "message_deleted",
  "reaction_changed",
  "message_pinned",
  "member_joined",
  "member_left",
  "room_updated",
  "room_deleted",
]);

export const isDurable = (e: ChatEvent): e is DurableEvent => DURABLE_TYPES.has(e.type);

const EPHEMERAL_ROOM_TYPES: ReadonlySet<string> = new Set<EphemeralEvent["type"]>([
  "occupancy",
  "typing",
  "read",
]);

/** Whether an event belongs to a room's stream (durable or ephemeral), not to one user. */
export const isRoomEvent = (e: ChatEvent): e is RoomEvent => isDurable(e) || EPHEMERAL_ROOM_TYPES.has(e.type);

/** The message a room event is about, when it carries one whole. */
function messageOf(event: RoomEvent): Message | null {
  switch (event.type) {
    case "message":
    case "message_updated":
    case "message_deleted":
    case "message_pinned":
    case "reaction_changed":
      return event.message;
    default:
      return null;
  }
}

/** Whether `userId` may see a room event: whispers (`to`) reach only their sender and recipient. */
export function eventVisibleTo(event: RoomEvent, userId: string): boolean {
  const m = messageOf(event);
  if (!m) return true;
  return m.to === null || m.to === userId || m.sender.id === userId;
}
