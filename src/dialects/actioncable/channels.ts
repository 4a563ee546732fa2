import { z } from "zod";
import type { Command, FollowScope, RoomRef } from "../../domain/commands";
import { MAX_ROOM_NUMBER } from "./ids";
import { parseObject } from "./protocol";

/**
 * The platform's four channels. The per-member ones follow a scope of the user; `Chats::RoomChannel` subscribes
 * to one room.
 */
export type ChannelKind = FollowScope | "room";

const CHANNELS: Record<string, ChannelKind> = {
  NotificationChannel: "notifications",
  ChatRoomChannel: "rooms",
  "Chats::CommunityMemberThreadsChannel": "threads",
  "Chats::RoomChannel": "room",
};

/** An identifier is stored in the socket attachment and echoed in every frame of its subscription. */
export const MAX_IDENTIFIER_CHARS = 256;
/** Subscriptions per socket, bounding the attachment (16 KiB, shared with the host). */
export const MAX_SUBSCRIPTIONS = 16;

/** One subscription of the socket, under the identifier the client chose. */
export interface Subscription {
  identifier: string;
  channel: ChannelKind;
  /** For a room channel: the room's key and number, each once known (the identifier names one of them). */
  key: string | null;
  number: number | null;
  /** Confirmed to the client; until then the host is still answering the canonical command. */
  confirmed: boolean;
}

export const roomKeySchema = z.string().min(1).max(160);
/** Rails params are whatever JSON the client put there: numbers, or numbers written as strings. */
export const roomNumberSchema = z.union([
  z.number().int().min(1).max(MAX_ROOM_NUMBER),
  z
    .string()
    .regex(/^[1-9]\d{0,6}$/)
    .transform(Number)
    .pipe(z.number().max(MAX_ROOM_NUMBER)),
]);
const memberIdSchema = z.union([z.number().int().min(0).transform(String), z.string().min(1).max(128)]);

const memberChannelSchema = z.object({ community_member_id: memberIdSchema });
const roomChannelSchema = z.object({
  chat_room_uuid: roomKeySchema.optional(),
  chat_room_id: roomNumberSchema.optional(),
});

/** The subscription an identifier asks for, or why it is rejected. */
export function subscriptionFor(identifier: string, me: string): Subscription | { rejected: string } {
  if (identifier.length > MAX_IDENTIFIER_CHARS)
    return { rejected: `identifiers have at most ${MAX_IDENTIFIER_CHARS} characters` };
  const params = parseObject(identifier);
  if (params === null) return { rejected: "the identifier is not a JSON object" };
  const channel = typeof params.channel === "string" ? CHANNELS[params.channel] : undefined;
  if (channel === undefined) return { rejected: "unknown channel" };
  const base = { identifier, channel, key: null, number: null, confirmed: false };
  if (channel !== "room") {
    const member = memberChannelSchema.safeParse(params);
    if (!member.success) return { rejected: "community_member_id is required" };
    // A member's channels are their own: the platform's member id is the token's subject.
    if (member.data.community_member_id !== me) return { rejected: "another member's channel" };
    return base;
  }
  const room = roomChannelSchema.safeParse(params);
  if (!room.success || (room.data.chat_room_uuid === undefined && room.data.chat_room_id === undefined))
    return { rejected: "chat_room_uuid or chat_room_id is required" };
  // The key names the room exactly; a number is only looked up when no key is given.
  const key = room.data.chat_room_uuid ?? null;
  return { ...base, key, number: key === null ? (room.data.chat_room_id ?? null) : null };
}

// A room subscription names its room by key or by number (`subscriptionFor`), so one of them is set.
export const roomRef = (sub: Subscription): RoomRef => sub.key ?? { number: sub.number as number };

/** The canonical command that starts what a subscription needs from the host. */
export const startCommand = (sub: Subscription): Command =>
  sub.channel === "room"
    ? { kind: "subscribe", room: roomRef(sub), since: null }
    : { kind: "follow", scope: sub.channel };

/** The canonical command that stops it, once no other subscription needs the same. */
export const stopCommand = (sub: Subscription): Command =>
  sub.channel === "room"
    ? { kind: "unsubscribe", room: roomRef(sub) }
    : { kind: "unfollow", scope: sub.channel };

const sameRoom = (a: RoomRef, b: { key: string | null; number: number | null }): boolean =>
  typeof a === "string" ? a === b.key : "number" in a && a.number === b.number;

/** Whether `sub` needs what `command` (a start or stop command) starts or stops. */
export function servedBy(sub: Subscription, command: Command): boolean {
  switch (command.kind) {
    case "follow":
    case "unfollow":
      return sub.channel === command.scope;
    case "subscribe":
    case "unsubscribe":
      return sub.channel === "room" && sameRoom(command.room, sub);
    default:
      return false;
  }
}

/** Whether two subscriptions need the same of the host (rooms compare by whichever names both know). */
export const sameTarget = (a: Subscription, b: Subscription): boolean =>
  a.channel === b.channel &&
  (a.channel !== "room" ||
    (a.key !== null && a.key === b.key) ||
    (a.number !== null && a.number === b.number));
