import type { RoomListing } from "../../domain/events";
import { directRoomUsers } from "../../domain/ids";
import type { Message, Notification, Profile, Role, Room, RoomBrief, RoomKind } from "../../domain/model";
import { ejsonDate } from "./ejson";

/**
 * Rocket.Chat's record shapes (`@rocket.chat/core-typings` IMessage, IRoom, ISubscription, INotificationDesktop)
 * built from canonical values. Parley has no usernames: a user's id is their username. Fields Parley does not
 * know are left out (see docs/dialects/ddp.md) rather than invented.
 */

/** Rocket.Chat's room types: direct, public channel, private group, live (omnichannel). */
export type RoomType = "d" | "c" | "p" | "l";

export function roomType(room: Pick<RoomBrief, "kind" | "private">): RoomType {
  const byKind: Record<RoomKind, RoomType> = { direct: "d", live: "l", group: room.private ? "p" : "c" };
  return byKind[room.kind];
}

/** The type of a room the host did not describe: direct keys say so, anything else is taken as a channel. */
export function roomTypeOf(key: string, brief: RoomBrief | null): RoomType {
  if (brief) return roomType(brief);
  return directRoomUsers(key) ? "d" : "c";
}

export interface RcUser {
  _id: string;
  username: string;
  name: string;
}

export const rcUser = (profile: Profile): RcUser => ({
  _id: profile.id,
  username: profile.id,
  name: profile.name ?? profile.id,
});

/** The latest of several ISO times (null ones skipped). */
function latest(first: string, ...others: (string | null | undefined)[]): string {
  let best = first;
  for (const time of others) if (time && Date.parse(time) > Date.parse(best)) best = time;
  return best;
}

/** Mentioned users, plus Rocket.Chat's `all` pseudo-user for `@room`. */
function mentionsOf(message: Message) {
  const users = message.mentions.map((id) => ({ _id: id, username: id, type: "user" }));
  return message.mentions_room ? [...users, { _id: "all", username: "all" }] : users;
}

/** Rocket.Chat keys reactions by emoji and lists every reactor; Parley's summary lists the first few. */
function reactionsOf(message: Message) {
  return Object.fromEntries(
    message.reactions.map((reaction) => [
      reaction.emoji,
      {
        usernames: reaction.users.map((user) => user.id),
        names: reaction.users.map((user) => user.name ?? user.id),
      },
    ]),
  );
}

/** IMessage. A tombstone is Rocket.Chat's "message removed" (`t: "rm"`, empty text). */
export function rcMessage(message: Message): Record<string, unknown> {
  const thread = message.thread;
  return {
    _id: message.id,
    rid: message.room,
    msg: message.deleted_at ? "" : message.text,
    ts: ejsonDate(message.created_at),
    u: rcUser(message.sender),
    _updatedAt: ejsonDate(
      latest(
        message.created_at,
        message.edited_at,
        message.deleted_at,
        message.pinned_at,
        thread?.last_reply_at,
      ),
    ),
    urls: [],
    mentions: mentionsOf(message),
    channels: [],
    ...(message.deleted_at ? { t: "rm" } : {}),
    ...(message.parent_id ? { tmid: message.parent_id } : {}),
    ...(thread
      ? {
          tcount: thread.replies_count,
          replies: thread.participants_preview.map((user) => user.id),
          ...(thread.last_reply_at ? { tlm: ejsonDate(thread.last_reply_at) } : {}),
        }
      : {}),
    ...(message.reactions.length > 0 ? { reactions: reactionsOf(message) } : {}),
    ...(message.pinned_at ? { pinned: true, pinnedAt: ejsonDate(message.pinned_at) } : {}),
    ...(message.edited_at
      ? {
          editedAt: ejsonDate(message.edited_at),
          editedBy: { _id: message.sender.id, username: message.sender.id },
        }
      : {}),
  };
}

/** The other user of a direct room, as `me` sees it (themselves for a self-DM). */
function peerOf(key: string, me: string): string | null {
  const users = directRoomUsers(key);
  if (!users) return null;
  return users[0] === me ? users[1] : users[0];
}

/** IRoom. Member and message counts (`usersCount`, `msgs`) are not known to a session and are left out. */
export function rcRoom(room: Room, lastMessage: Message | null): Record<string, unknown> {
  const users = directRoomUsers(room.key);
  return {
    _id: room.key,
    t: roomType(room),
    ...(room.name ? { name: room.name, fname: room.name } : {}),
    ...(room.description ? { description: room.description } : {}),
    u: { _id: room.created_by, username: room.created_by },
    ts: ejsonDate(room.created_at),
    _updatedAt: ejsonDate(latest(room.created_at, lastMessage?.created_at)),
    ...(users ? { uids: [...users], usernames: [...users] } : {}),
    ...(lastMessage ? { lastMessage: rcMessage(lastMessage), lm: ejsonDate(lastMessage.created_at) } : {}),
  };
}

/** Rocket.Chat's room roles: Parley admins are its moderators; plain members have none. */
const RC_ROLES: Record<Role, string[]> = { owner: ["owner"], admin: ["moderator"], member: [] };

/** What a subscription event knows of the member's state in the room; unknown counts are left out. */
export interface SubscriptionFacts {
  unread?: number;
  mentions?: number;
  pinned?: boolean;
  role?: string | null;
  /** When the room became the user's (or was created), for `ts`. */
  since?: string;
}

/** The stable id of a user's subscription to a room (Rocket.Chat's subscriptions have their own ids). */
export const subscriptionId = (room: string, userId: string): string => `${room}/${userId}`;

/**
 * ISubscription. A direct room is named after the other user, as Rocket.Chat names it in the member's list;
 * another room by its name, or its key when it has none.
 */
export function rcSubscription(
  room: Pick<RoomBrief, "key" | "kind" | "private" | "name">,
  facts: SubscriptionFacts,
  me: Profile,
  at: string,
): Record<string, unknown> {
  const peer = peerOf(room.key, me.id);
  const name = peer ?? room.name ?? room.key;
  return {
    _id: subscriptionId(room.key, me.id),
    rid: room.key,
    u: rcUser(me),
    t: roomType(room),
    name,
    fname: peer ?? room.name ?? room.key,
    open: true,
    ts: ejsonDate(facts.since ?? at),
    _updatedAt: ejsonDate(at),
    ...(facts.unread === undefined ? {} : { unread: facts.unread, alert: facts.unread > 0 }),
    ...(facts.mentions === undefined ? {} : { userMentions: facts.mentions, groupMentions: 0 }),
    ...(facts.pinned === undefined ? {} : { f: facts.pinned }),
    ...(facts.role && facts.role in RC_ROLES ? { roles: RC_ROLES[facts.role as Role] } : {}),
  };
}

export function rcSubscriptionOfListing(listing: RoomListing, me: Profile, at: string) {
  return rcSubscription(
    listing.room,
    {
      unread: listing.unread,
      mentions: listing.mentions,
      pinned: listing.pinned_at !== null,
      role: listing.role,
      since: listing.room.created_at,
    },
    me,
    at,
  );
}

/** A subscription's removal carries only what identifies it. */
export const rcRemovedSubscription = (room: string, me: Profile) => ({
  _id: subscriptionId(room, me.id),
  rid: room,
  u: rcUser(me),
});

/**
 * INotificationDesktop for a notification about a message: titled with the room (the sender for a direct room),
 * and, outside direct rooms, the text prefixed by who wrote it, as Rocket.Chat shows it.
 */
export function rcNotification(notification: Notification, brief: RoomBrief | null) {
  const t = roomTypeOf(notification.room, brief);
  const sender = rcUser(notification.actor);
  const name = brief?.name ?? notification.room;
  const text = notification.text ?? "";
  return {
    title: t === "d" ? sender.name : name,
    text: t === "d" ? text : `${sender.username}: ${text}`,
    payload: {
      _id: notification.message_id,
      rid: notification.room,
      ...(notification.thread_id ? { tmid: notification.thread_id } : {}),
      sender,
      type: t,
      name: t === "d" ? sender.username : name,
      message: { msg: text },
    },
  };
}
