import type { RoomListing } from "../../domain/events";
import { directRoomUsers } from "../../domain/ids";
import type { Message, Notification, Profile, Room, RoomBrief, RoomKind } from "../../domain/model";
import { memberNumber, messageNumber } from "./ids";

/** The `data` of each event the community platform broadcasts (seed 003), built from canonical values. */

/** Parley's live rooms are the platform's "embedded" chat rooms (of an event or a lesson). */
const ROOM_KINDS: Record<RoomKind, string> = { direct: "direct", group: "group_chat", live: "embedded" };

export const roomKindName = (kind: RoomKind): string => ROOM_KINDS[kind];

export function memberJson(profile: Profile) {
  const id = memberNumber(profile.id);
  return { id, community_member_id: id, name: profile.name, avatar_url: profile.avatar };
}

/** The platform's `rich_text_body` is a document object; Parley keeps it as the message's `data`. */
const richText = (data: unknown): Record<string, unknown> | null =>
  typeof data === "object" && data !== null && !Array.isArray(data)
    ? (data as Record<string, unknown>)
    : null;

/**
 * The platform's JSONMessage. A thread is named by its root message, so `chat_thread_id` is the root's number:
 * the parent's for a reply, the message's own for a root that has replies.
 */
export function jsonMessage(m: Message, room: RoomBrief) {
  const numbered = (seq: number) => messageNumber(room.number, seq);
  const parent = m.parent_seq == null ? null : numbered(m.parent_seq);
  const repliesCount = m.thread?.replies_count ?? 0;
  return {
    id: numbered(m.seq),
    chat_room_uuid: m.room,
    chat_room_kind: roomKindName(room.kind),
    chat_room_participant_id: memberNumber(m.sender.id),
    body: m.text,
    rich_text_body: richText(m.data),
    sent_at: m.created_at,
    created_at: m.created_at,
    edited_at: m.edited_at,
    sender: memberJson(m.sender),
    creation_uuid: m.temp_id,
    chat_thread_id: parent ?? (m.thread ? numbered(m.seq) : null),
    parent_message_id: parent,
    lesson_id: null,
    replies_count: repliesCount,
    total_thread_participants_count: m.thread?.participants_count ?? 0,
    thread_participants_preview: (m.thread?.participants_preview ?? []).map(memberJson),
    chat_thread_replies_count: repliesCount,
  };
}

/** `deletedMessage`: the tombstone's number and its thread root as it is now. */
export const deletedMessageJson = (message: Message, parent: Message | null, room: RoomBrief) => ({
  id: messageNumber(room.number, message.seq),
  parent_message: parent ? jsonMessage(parent, room) : null,
});

const text = (value: string | null) => value ?? "";

const showsHistory = (metadata: Record<string, unknown>) =>
  typeof metadata.show_history === "boolean" ? metadata.show_history : true;

/**
 * The platform's ChatRoom (`chatRoomCreated`), seen by the member `me`, from the room's listing when the host
 * has one, else from its brief alone. Parley keeps no participant previews; a direct room's key names the peer.
 */
export function chatRoomJson(brief: RoomBrief, listing: RoomListing | null, me: string) {
  const room = listing?.room ?? null;
  const others = brief.kind === "direct" ? (directRoomUsers(brief.key) ?? []).filter((id) => id !== me) : [];
  return {
    id: brief.number,
    uuid: brief.key,
    identifier: brief.key,
    unread_messages_count: listing?.unread ?? 0,
    chat_room_kind: roomKindName(brief.kind),
    chat_room_name: text(room?.name ?? null),
    chat_room_description: text(room?.description ?? null),
    chat_room_show_history: room ? showsHistory(room.metadata) : true,
    other_participants_preview: others.map((id) => ({ community_member_id: memberNumber(id) })),
    current_participant: {
      community_member_id: memberNumber(me),
      role: listing?.role ?? null,
      pinned_at: listing?.pinned_at ?? null,
    },
    last_message: listing?.last_message ? jsonMessage(listing.last_message, brief) : null,
  };
}

/** The platform's SimplifiedChatRoom (`chatRoomUpdated`). Parley rooms keep no pinned message of their own. */
export const simplifiedChatRoomJson = (room: Room) => ({
  uuid: room.key,
  chat_room_name: text(room.name),
  chat_room_description: text(room.description),
  chat_room_show_history: showsHistory(room.metadata),
  pinned_message: null,
});

/** `newNotification`: the notification, with the room and message numbered when the host knows the room. */
export const notificationJson = (n: Notification, room: RoomBrief | null) => ({
  id: n.id,
  notification_type: n.kind,
  chat_room_uuid: n.room,
  chat_room_id: room?.number ?? null,
  message_id: room && n.message_seq !== null ? messageNumber(room.number, n.message_seq) : null,
  actor: memberJson(n.actor),
  text: n.text,
  created_at: n.created_at,
  read_at: n.read_at,
});
