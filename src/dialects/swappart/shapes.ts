import type { Message, Role, Room } from "../../domain/model";

/** The Swappart room API's answers (seed 002), shaped from canonical rooms, members and messages. */

export interface SwappartLastMessage {
  room_id: number;
  message: string;
  sender_id: string;
  created_at: string;
}

/** One entry of `GET /rooms`. */
export interface SwappartRoomEntry {
  room_id: number;
  participants_id: string[];
  apartment_id: number | null;
  is_owner: boolean;
  /** Null while the room has no message yet. */
  last_message: SwappartLastMessage | null;
}

export interface SwappartMessage {
  /** The message's sequence number in its room: an integer, as the seed types it. */
  id: number;
  room_id: number;
  message: string;
  sender_id: string;
  created_at: string;
}

/** `GET /rooms/:id`. */
export interface SwappartRoomDetails {
  apartment_id: number | null;
  created_at: string;
  messages: SwappartMessage[];
  owner_id: string;
  participants_id: string[];
  room_id: number;
}

/** The room's apartment, kept in its metadata; anything but a safe integer there is none. */
export function apartmentIdOf(metadata: Record<string, unknown>): number | null {
  const id = metadata.apartment_id;
  return typeof id === "number" && Number.isSafeInteger(id) ? id : null;
}

/** Whether Swappart shows a message: it knows text only, and has no deletion to render a tombstone with. */
export const isShown = (message: Message): boolean => message.type === "text" && message.deleted_at === null;

export function lastMessageOf(roomNumber: number, message: Message | null): SwappartLastMessage | null {
  if (!message || !isShown(message)) return null;
  return {
    room_id: roomNumber,
    message: message.text,
    sender_id: message.sender.id,
    created_at: message.created_at,
  };
}

export function roomEntry(
  listed: {
    room: Pick<Room, "number" | "created_by" | "metadata">;
    role: Role;
    last_message: Message | null;
  },
  participants: string[],
): SwappartRoomEntry {
  return {
    room_id: listed.room.number,
    participants_id: participants,
    apartment_id: apartmentIdOf(listed.room.metadata),
    is_owner: listed.role === "owner",
    last_message: lastMessageOf(listed.room.number, listed.last_message),
  };
}

export function swappartMessage(roomNumber: number, message: Message): SwappartMessage {
  return {
    id: message.seq,
    room_id: roomNumber,
    message: message.text,
    sender_id: message.sender.id,
    created_at: message.created_at,
  };
}

/** The room's owner: its first member with that role, else its creator (who was made owner). */
function ownerOf(room: Room, members: readonly { user_id: string; role: Role }[]): string {
  return members.find((m) => m.role === "owner")?.user_id ?? room.created_by;
}

/** `messages` oldest first, as the room's history returns them. */
export function roomDetails(
  room: Room,
  members: readonly { user_id: string; role: Role }[],
  messages: readonly Message[],
): SwappartRoomDetails {
  return {
    apartment_id: apartmentIdOf(room.metadata),
    created_at: room.created_at,
    messages: messages.filter(isShown).map((m) => swappartMessage(room.number, m)),
    owner_id: ownerOf(room, members),
    participants_id: participantsInOrder(ownerOf(room, members), members),
    room_id: room.number,
  };
}

/** The owner first, then the others as they joined: members who join together are otherwise in id order. */
function participantsInOrder(owner: string, members: readonly { user_id: string }[]): string[] {
  const ids = members.map((m) => m.user_id);
  return ids.includes(owner) ? [owner, ...ids.filter((id) => id !== owner)] : ids;
}
