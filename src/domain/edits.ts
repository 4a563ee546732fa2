import { fail, type Outcome, ok } from "./errors";
import { type Change, liveTargetOf, targetOf } from "./lifecycle";
import type { Message } from "./model";
import { canDeleteMessage, canEditMessage, type Standing } from "./permissions";
import { checkDraftLimits } from "./validation";

/** How long after sending its author may edit a message, unless `EDIT_WINDOW_SECONDS` says otherwise. */
export const DEFAULT_EDIT_WINDOW_SECONDS = 86_400;

/** `EDIT_WINDOW_SECONDS`: a whole number of seconds, 0 for no limit; anything else keeps the default. */
export function editWindowSeconds(raw: string | undefined): number {
  const seconds = raw === undefined || raw.trim() === "" ? Number.NaN : Number(raw);
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : DEFAULT_EDIT_WINDOW_SECONDS;
}

export interface EditRules {
  maxMessageChars: number;
  /** 0: no limit. */
  editWindowSeconds: number;
}

/** An edit: new text, and new data when given (absent keeps the message's data). */
export interface EditRequest {
  text: string;
  data?: unknown;
}

/**
 * An author's edit. The edited message has `edited_at` and the next `version`; the caller keeps `previous` in the
 * edit history and emits `message_updated {change: "edit"}`. An edit that changes nothing is an ok no-op.
 */
export function planEdit(
  target: Message | null,
  actorId: string,
  edit: EditRequest,
  rules: EditRules,
  now: number,
): Outcome<Change & { previous: Message }> {
  const live = liveTargetOf(target, actorId);
  if (!live.ok) return live;
  const previous = live.value;
  if (!canEditMessage(actorId, previous)) return fail("forbidden", "only its author edits a message");
  const windowMs = rules.editWindowSeconds * 1000;
  if (windowMs > 0 && now - Date.parse(previous.created_at) > windowMs)
    return fail("forbidden", `messages can be edited for ${rules.editWindowSeconds} seconds after sending`);
  const data = edit.data === undefined ? previous.data : edit.data;
  const refusal = checkDraftLimits({ text: edit.text, data }, rules.maxMessageChars);
  if (refusal) return fail(refusal.code, refusal.message);
  if (edit.text === previous.text && JSON.stringify(data ?? null) === JSON.stringify(previous.data ?? null))
    return ok({ changed: false, message: previous, previous });
  const message: Message = {
    ...previous,
    text: edit.text,
    data: data ?? null,
    edited_at: new Date(now).toISOString(),
    version: previous.version + 1,
  };
  return ok({ changed: true, message, previous });
}

/**
 * A deletion by the author or a room owner/admin. The tombstone keeps the message's place, author and thread
 * summary, and loses everything else it said (text, data, reactions, pin, mentions); deleting a tombstone again
 * is an ok no-op. The caller wipes the edit history, reactions and pin, and updates the thread root.
 */
export function planDelete(
  target: Message | null,
  actor: Standing,
  actorId: string,
  now: number,
): Outcome<Change> {
  const visible = targetOf(target, actorId);
  if (!visible.ok) return visible;
  const message = visible.value;
  if (!canDeleteMessage(actor, actorId, message))
    return fail("forbidden", "only its author or a room owner or admin deletes a message");
  if (message.deleted_at !== null) return ok({ changed: false, message });
  return ok({ changed: true, message: tombstoneOf(message, new Date(now).toISOString()) });
}

export function tombstoneOf(message: Message, deletedAt: string): Message {
  return {
    ...message,
    text: "",
    data: null,
    deleted_at: deletedAt,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
  };
}
