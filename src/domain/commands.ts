import type { ChatError } from "./errors";
import type { RoomListing } from "./events";
import type { Ack, Message, MessageDraft, MessageRef, Profile } from "./model";

/**
 * How a command names a room: its key, or its number for dialects that number rooms (Swappart `room_id`,
 * ActionCable `chat_room_id`), or one of its messages for dialects whose message commands name no room (DDP
 * `setReaction`, `deleteMessage`). Codecs are pure and cannot look these up; the host resolves them before running.
 */
export type RoomRef = string | { number: number } | { message_id: string };

/**
 * What a session follows besides the rooms it is subscribed to (subscribing also makes the user present in the
 * room; following does not): every room of the user, the threads they take part in, or their notifications.
 */
export type FollowScope = "rooms" | "threads" | "notifications";

/** A history page: newest `limit` before `before`, or oldest `limit` after `after`; one thread when given. */
export interface HistoryQuery {
  before?: number;
  after?: number;
  /** Newest `limit` created before this ISO time, for dialects that page by timestamp (DDP `loadHistory`). */
  before_at?: string;
  limit: number;
  /** The thread root's message id: only its replies. */
  thread_id?: string;
}

/**
 * The canonical commands every dialect decodes into. A session host (RoomDO for room-scoped sockets, UserDO
 * for user-scoped ones) executes them; the dialect only translates.
 */
export type Command =
  /** First-frame authentication (STOMP CONNECT, Haraj `auth`, native `auth`, DDP `login`). */
  /** `name` is the dialect's display name, used when the token carries none. */
  | { kind: "auth"; token: string; expectUserId?: string; appId?: string; name?: string }
  /** A fresh token for the same user on a live session, before the current one expires. */
  | { kind: "refresh_token"; token: string }
  /** Follows one room and makes the user present in it; with `since`, replays what came after it first. */
  | { kind: "subscribe"; room: RoomRef; since: number | null; epoch?: string | null }
  | { kind: "unsubscribe"; room: RoomRef }
  | { kind: "follow"; scope: FollowScope }
  | { kind: "unfollow"; scope: FollowScope }
  | { kind: "send"; room: RoomRef; draft: MessageDraft }
  /** A message to the direct room shared with `to`, created on first use. */
  | { kind: "send_direct"; to: string; draft: MessageDraft }
  | { kind: "edit"; room: RoomRef; message_id: MessageRef; text: string; data?: unknown }
  | { kind: "delete"; room: RoomRef; message_id: MessageRef }
  /** `toggle` adds the reaction unless the user already reacted with this emoji (DDP `setReaction`). */
  | { kind: "react"; room: RoomRef; message_id: string; emoji: string; add: boolean | "toggle" }
  | { kind: "pin_message"; room: RoomRef; message_id: string; pinned: boolean }
  /** The member's own pin of the room in their room list. */
  | { kind: "pin_room"; room: RoomRef; pinned: boolean }
  | { kind: "typing"; room: RoomRef; typing: boolean }
  /** Moves the read marker to `seq`, or to the room's head when null. */
  | { kind: "read"; room: RoomRef; seq: number | null }
  | { kind: "read_thread"; room: RoomRef; thread_id: MessageRef }
  | { kind: "history"; room: RoomRef; query: HistoryQuery }
  /** Marks one notification read, or all of them when `id` is null. */
  | { kind: "notifications_read"; id: string | null }
  | { kind: "watch"; user: string }
  | { kind: "unwatch"; user: string }
  /** The user's room list, as their user socket's `room_added` shows each room. */
  | { kind: "list_rooms" }
  /** The members of a room the user belongs to. */
  | { kind: "members"; room: RoomRef }
  /** The direct room shared with `to`, created (without a message) when it does not exist yet. */
  | { kind: "create_direct"; to: string };

export type CommandKind = Command["kind"];

/** What a command produced when it succeeded. */
export type CommandResult =
  | { kind: "auth"; user: Profile; expires_at: string | null }
  | { kind: "token_refreshed"; user: Profile; expires_at: string | null }
  | { kind: "subscribed"; room: string; head: number; epoch: string }
  | { kind: "unsubscribed"; room: string }
  | { kind: "followed"; scope: FollowScope }
  | { kind: "unfollowed"; scope: FollowScope }
  | { kind: "sent"; room: string; ack: Ack; message: Message }
  | { kind: "edited"; room: string; message: Message }
  | { kind: "deleted"; room: string; message_id: string }
  | { kind: "reacted"; room: string; message: Message }
  | { kind: "message_pinned"; room: string; message: Message }
  | { kind: "room_pinned"; room: string; pinned_at: string | null }
  | { kind: "typing" }
  | { kind: "read"; room: string; seq: number }
  | { kind: "thread_read"; room: string; thread_id: string }
  | { kind: "history"; room: string; messages: Message[] }
  | { kind: "notifications_read"; unread: number }
  | { kind: "watching"; user: string; online: boolean; last_seen: string | null }
  | { kind: "unwatched"; user: string }
  | { kind: "rooms"; listings: RoomListing[] }
  | { kind: "members"; room: string; members: Profile[] }
  | { kind: "direct"; room: string };

export type CommandOutcome = { ok: true; value: CommandResult } | { ok: false; error: ChatError };
