import type { Message, RoomKind } from "../domain/model";

/**
 * Whether a message becomes a push, decided in the recipient's UserDO. Pure: the UserDO keeps `PushState` in
 * its storage, passes it in with the facts it knows, stores the state that comes back, and schedules an alarm
 * at `wake_at` to release what a collapse window held back.
 *
 * Seed 001 pushes every message, so by default (`windowMs` 0) each one is its own push. A deployment may turn
 * collapsing on (`PUSH_COLLAPSE_WINDOW_SECONDS`): after a push, further messages of the same room are then held
 * for `windowMs` and counted into one push instead of many.
 */

/** How many recent message ids are remembered to drop a message offered twice. */
export const SEEN_LIMIT = 256;

export interface RoomWindow {
  room_kind: RoomKind;
  /** When the window ends (epoch ms). */
  closes_at: number;
  /** Messages that arrived inside the window and are not pushed yet. */
  held: number;
  /** The newest held message: the one the window's closing push shows. */
  latest: Message | null;
}

export interface PushState {
  /** Open collapse windows by room key. */
  windows: Record<string, RoomWindow>;
  /** Ids of the messages already decided, oldest first, at most `SEEN_LIMIT`. */
  seen: string[];
}

export const emptyPushState = (): PushState => ({ windows: {}, seen: [] });

/** What the UserDO knows about its user at decision time. */
export interface Recipient {
  user_id: string;
  /** True while any device of the user holds a live socket. */
  online: boolean;
  /** The user-level push switch. */
  push_enabled: boolean;
}

export interface IncomingMessage {
  room: string;
  room_kind: RoomKind;
  /** The recipient's per-room mute. */
  room_muted: boolean;
  /** True when the message mentions the recipient. */
  mentioned: boolean;
  message: Message;
}

/** One notification to enqueue: `count` messages of `room`, shown through the newest, `message`. */
export interface PushIntent {
  room: string;
  room_kind: RoomKind;
  count: number;
  message: Message;
}

export type SkipReason =
  | "duplicate"
  | "own_message"
  | "not_for_recipient"
  | "not_notifiable"
  | "push_disabled"
  | "muted"
  | "online"
  | "collapsed";

export interface MessageDecision {
  state: PushState;
  push: PushIntent | null;
  /** Why nothing is pushed now; null when `push` is set. */
  skipped: SkipReason | null;
  /** When the UserDO must call `releaseHeldPushes` (epoch ms), or null when nothing is held. */
  wake_at: number | null;
}

export interface ReleaseDecision {
  state: PushState;
  pushes: PushIntent[];
  wake_at: number | null;
}

/** A mention or a whisper is addressed to the recipient: it reaches them even where the room itself does not. */
function addressed(recipient: Recipient, incoming: IncomingMessage): boolean {
  return incoming.mentioned || incoming.message.to === recipient.user_id;
}

function skipReason(recipient: Recipient, incoming: IncomingMessage): SkipReason | null {
  const { message } = incoming;
  if (message.sender.id === recipient.user_id) return "own_message";
  if (message.to !== null && message.to !== recipient.user_id) return "not_for_recipient";
  if (message.type !== "text" || message.deleted_at !== null) return "not_notifiable";
  // Live rooms are audience chat: only what is addressed to the recipient is worth a notification.
  if (incoming.room_kind === "live" && !addressed(recipient, incoming)) return "not_notifiable";
  if (!recipient.push_enabled) return "push_disabled";
  if (incoming.room_muted && !addressed(recipient, incoming)) return "muted";
  if (recipient.online) return "online";
  return null;
}

function remember(seen: string[], id: string): string[] {
  const next = [...seen, id];
  return next.length > SEEN_LIMIT ? next.slice(next.length - SEEN_LIMIT) : next;
}

/** The earliest moment a window holding messages closes, or null when no window holds any. */
export function nextWakeAt(windows: Record<string, RoomWindow>): number | null {
  let earliest: number | null = null;
  for (const w of Object.values(windows)) {
    if (w.held > 0 && (earliest === null || w.closes_at < earliest)) earliest = w.closes_at;
  }
  return earliest;
}

/** Windows still open, or closed but holding messages that were not released yet. */
function liveWindows(windows: Record<string, RoomWindow>, now: number): Record<string, RoomWindow> {
  return Object.fromEntries(Object.entries(windows).filter(([, w]) => w.closes_at > now || w.held > 0));
}

/**
 * Decides one incoming message. Without collapsing (`windowMs` 0) a message that passes the checks is pushed at
 * once. With it, the first message of a room pushes at once and opens a window; messages inside the window are
 * held and counted; `releaseHeldPushes` pushes them as one when the window closes. A message arriving after a
 * window closed but before its release carries the held count along.
 */
export function decideMessagePush(
  state: PushState,
  recipient: Recipient,
  incoming: IncomingMessage,
  now: number,
  windowMs: number,
): MessageDecision {
  const { message } = incoming;
  if (state.seen.includes(message.id)) {
    return { state, push: null, skipped: "duplicate", wake_at: nextWakeAt(state.windows) };
  }
  const seen = remember(state.seen, message.id);
  const windows = liveWindows(state.windows, now);
  const reason = skipReason(recipient, incoming);
  if (reason) return { state: { windows, seen }, push: null, skipped: reason, wake_at: nextWakeAt(windows) };

  const open = windows[incoming.room];
  if (open && open.closes_at > now) {
    windows[incoming.room] = { ...open, held: open.held + 1, latest: message };
    return { state: { windows, seen }, push: null, skipped: "collapsed", wake_at: nextWakeAt(windows) };
  }
  // Windows left from a time collapsing was on still drain; none opens while it is off.
  if (windowMs > 0) {
    windows[incoming.room] = {
      room_kind: incoming.room_kind,
      closes_at: now + windowMs,
      held: 0,
      latest: null,
    };
  } else {
    delete windows[incoming.room];
  }
  const push: PushIntent = {
    room: incoming.room,
    room_kind: incoming.room_kind,
    count: (open?.held ?? 0) + 1,
    message,
  };
  return { state: { windows, seen }, push, skipped: null, wake_at: nextWakeAt(windows) };
}

/**
 * Closes every window that has ended: one push per room for what it held, unless the recipient came online or
 * turned push off meanwhile. A room that released a push opens a fresh window (while collapsing is on), so a
 * steady stream of messages yields one push per window.
 */
export function releaseHeldPushes(
  state: PushState,
  recipient: Recipient,
  now: number,
  windowMs: number,
): ReleaseDecision {
  const deliver = recipient.push_enabled && !recipient.online;
  const windows: Record<string, RoomWindow> = {};
  const pushes: PushIntent[] = [];
  for (const [room, w] of Object.entries(state.windows)) {
    if (w.closes_at > now) {
      windows[room] = w;
    } else if (deliver && w.held > 0 && w.latest) {
      pushes.push({ room, room_kind: w.room_kind, count: w.held, message: w.latest });
      if (windowMs > 0)
        windows[room] = { room_kind: w.room_kind, closes_at: now + windowMs, held: 0, latest: null };
    }
  }
  return { state: { windows, seen: state.seen }, pushes, wake_at: nextWakeAt(windows) };
}
