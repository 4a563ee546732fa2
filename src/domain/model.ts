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
  /** The client's idempotency key. */
  temp_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

/** What a client asks to post; the room fills in the rest. */
export interface MessageDraft {
  temp_id: string;
  text: string;
  type?: MessageType;
  custom_type?: string | null;
  data?: unknown;
  to?: string | null;
  parent_id?: string | null;
}

/** What the sender learns once its message is durably stored. */
export interface Ack {
  temp_id: string;
  id: string;
  seq: number;
  created_at: string;
  /** True when this temp id had been stored before: the first result is returned and nothing is sent again. */
  duplicate: boolean;
}
