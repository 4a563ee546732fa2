import type { Member, Message, Profile, Room } from "./model";

/**
 * The canonical events. Durable ones carry the room's sequence number `seq`, which totally orders every
 * durable event of a room with no gaps; resuming replays them. Ephemeral ones (typing, occupancy, reads,
 * presence, inbox) carry no `seq` and are never replayed.
 */
export type DurableEvent =
  | { type: "message"; room: string; seq: number; message: Message }
  | { type: "member_joined"; room: string; seq: number; member: Member; profile: Profile }
  | { type: "member_left"; room: string; seq: number; user_id: string; reason: "left" | "removed" | "banned" }
  | { type: "room_updated"; room: string; seq: number; info: Room }
  | { type: "room_deleted"; room: string; seq: number };

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

/** Events a UserDO raises about its own user, not about a room's stream. */
export type UserEvent =
  | { type: "presence"; user_id: string; online: boolean; last_seen: string | null; at: string }
  | { type: "inbox"; room: string; unread: number; last_message: Message | null }
  /** The user became a member of a room (or created one): its events now reach the user socket. */
  | { type: "room_added"; room: string };

export type ChatEvent = RoomEvent | UserEvent;

const DURABLE_TYPES: ReadonlySet<string> = new Set<DurableEvent["type"]>([
  "message",
  "member_joined",
  "member_left",
  "room_updated",
  "room_deleted",
]);

export const isDurable = (e: ChatEvent): e is DurableEvent => DURABLE_TYPES.has(e.type);

/** The user a room event is restricted to, beyond its sender, or null when every participant may see it. */
export function eventVisibleTo(event: RoomEvent, userId: string): boolean {
  if (event.type !== "message") return true;
  const m = event.message;
  return m.to === null || m.to === userId || m.sender.id === userId;
}
