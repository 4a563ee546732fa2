import type { ChatError } from "./errors";
import type { Ack, MessageDraft, Profile } from "./model";

/**
 * The canonical commands every dialect decodes into. A session host (RoomDO for room-scoped sockets, UserDO
 * for user-scoped ones) executes them; the dialect only translates. `room` is always a room key.
 */
export type Command =
  /** First-frame authentication (STOMP CONNECT, Haraj `auth`, native `auth`). */
  /** `name` is the dialect's display name, used when the token carries none. */
  | { kind: "auth"; token: string; expectUserId?: string; appId?: string; name?: string }
  | { kind: "subscribe"; room: string; since: number | null }
  | { kind: "unsubscribe"; room: string }
  | { kind: "send"; room: string; draft: MessageDraft }
  /** A message to the direct room shared with `to`, created on first use. */
  | { kind: "send_direct"; to: string; draft: MessageDraft }
  | { kind: "typing"; room: string; typing: boolean }
  | { kind: "read"; room: string; seq: number }
  | { kind: "watch"; user: string }
  | { kind: "unwatch"; user: string };

/** What a command produced when it succeeded. */
export type CommandResult =
  | { kind: "auth"; user: Profile }
  | { kind: "subscribed"; room: string; head: number }
  | { kind: "unsubscribed"; room: string }
  | { kind: "sent"; room: string; ack: Ack }
  | { kind: "typing" }
  | { kind: "read"; room: string; seq: number }
  | { kind: "watching"; user: string; online: boolean; last_seen: string | null }
  | { kind: "unwatched"; user: string };

export type CommandOutcome = { ok: true; value: CommandResult } | { ok: false; error: ChatError };
