/** The canonical chat model every dialect, the HTTP API and storage translate to and from. */

export type RoomKind = "group" | "direct" | "live";
export type Role = "owner" | "admin" | "member";
export const ROLES: readonly Role[] = ["owner", "admin", "member"];
export const ROOM_KINDS: readonly RoomKind[] = ["group", "direct", "live"];

export interface Profile {
  id: string;
  name: string | null;
  avatar: string | null;
}

export interface Room {
  /** Stable string key: the room's public id in URLs and every dialect that names rooms by string. */
  key: string;
  /** Numeric id for dialects that number rooms. */
  number: number;
  kind: RoomKind;
  name: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
  /** A private live room admits members only; other live rooms admit any authenticated user. */
  private: boolean;
  created_by: string;
  created_at: string;
  /**
   * Made when the room is created: a room deleted and created again under the same key starts a new epoch, so a
   * position `{seq, epoch}` from the old room is recognised as foreign instead of "caught up".
   */
  epoch: string;
}

/** What a dialect needs to know about a room to name it on its wire (number, kind), without its full view. */
export interface RoomBrief {
  key: string;
  /** Its display name when it has one, for dialects that name rooms in their events (DDP subscriptions). */
  name?: string | null;
  number: number;
  kind: RoomKind;
  private: boolean;
  epoch: string;
}

export interface Member {
  user_id: string;
  role: Role;
  joined_at: string;
}

/** `text` is an ordinary message; `command` carries an application instruction (seed 000's COMMAND). */
export type MessageType = "text" | "command";

export interface Message {
  /** Globally unique and time-sortable (UUIDv7). */
  id: string;
  room: string;
  seq: number;
  sender: Profile;
  type: MessageType;
  text: string;
  custom_type: string | null;
  data: unknown;
  /** When set, only the sender and this user see the message (a whisper inside a room). */
  to: string | null;
  /** The thread root this message replies to. */
  parent_id: string | null;
  /** That root's `seq`, for dialects that number messages by their room and seq (ActionCable). */
  parent_seq?: number | null;
  /** The client's idempotency key. */
  temp_id: string | null;
  created_at: string;
  edited_at: string | null;
  /** Set on a tombstone: text and data are wiped. */
  deleted_at: string | null;
  /** 1 when created, one more per edit. */
  version: number;
  /** The seq of the durable event that last changed this message (its own seq until it changes). */
  changed_seq: number;
  /** On a thread root that has replies: the thread's summary. */
  thread: ThreadSummary | null;
  /** One entry per emoji with at least one reactor, oldest first. */
  reactions: ReactionSummary[];
  /** When a moderator pinned it in the room, or null. */
  pinned_at: string | null;
  /** User ids mentioned with `@id`, and whether `@room`/`@all` was used (moderators only). */
  mentions: string[];
  mentions_room: boolean;
}

export interface ThreadSummary {
  replies_count: number;
  participants_count: number;
  /** Up to `THREAD_PREVIEW` participants, the root's author first, then by first reply. */
  participants_preview: Profile[];
  last_reply_at: string | null;
}

export interface ReactionSummary {
  emoji: string;
  count: number;
  /** Up to `REACTOR_PREVIEW` reactors, oldest first. */
  users: Profile[];
}

export const THREAD_PREVIEW = 3;
export const REACTOR_PREVIEW = 5;

/** One entry of a user's notification feed (kept in their UserDO). */
export interface Notification {
  id: string;
  kind: "mention" | "reply" | "direct" | "added";
  room: string;
  /** The message it is about; null for `added`. */
  message_id: string | null;
  message_seq: number | null;
  /** The thread root, for replies. */
  thread_id: string | null;
  actor: Profile;
  /** A short preview of the message text. */
  text: string | null;
  created_at: string;
  read_at: string | null;
}

/**
 * How a command names a message: its id, or its `seq` in the command's room for dialects that number messages
 * (ActionCable). Codecs cannot look seqs up; the host resolves them, as it resolves room numbers.
 */
export type MessageRef = string | { seq: number };

/** What a client asks to post; the room fills in the rest. */
export interface MessageDraft {
  temp_id: string;
  text: string;
  type?: MessageType;
  custom_type?: string | null;
  data?: unknown;
  to?: string | null;
  parent_id?: MessageRef | null;
}

/** What the sender learns once its message is durably stored. */
export interface Ack {
  temp_id: string;
  id: string;
  seq: number;
  epoch: string;
  created_at: string;
  /** True when this temp id had been stored before: the first result is returned and nothing is sent again. */
  duplicate: boolean;
}
