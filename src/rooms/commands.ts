import type { Command, CommandOutcome } from "../domain/commands";
import { fail, ok, refuse } from "../domain/errors";
import { newMessageId } from "../domain/ids";
import { targetOf } from "../domain/lifecycle";
import { extractMentions } from "../domain/mentions";
import type { Message, Profile, Room } from "../domain/model";
import { notificationsFor } from "../domain/notifications";
import { canMentionRoom, type Standing } from "../domain/permissions";
import { takeToken } from "../domain/rate-limit";
import { checkReplyRoot } from "../domain/threads";
import { checkDraftLimits, draftSchema, firstIssue } from "../domain/validation";
import { FLUSH_DELAY_MS, type RoomCore } from "./core";

/** Typing indicators expire unless renewed. */
export const TYPING_TTL_MS = 10_000;

/** The chat commands a room runs for an actor; session commands (auth, subscribe, follow…) are the hosts'. */
export type RoomCommand = Extract<
  Command,
  {
    kind:
      | "send"
      | "edit"
      | "delete"
      | "react"
      | "pin_message"
      | "pin_room"
      | "typing"
      | "read"
      | "read_thread"
      | "history";
  }
>;

export const ROOM_COMMANDS: ReadonlySet<string> = new Set<RoomCommand["kind"]>([
  "send",
  "edit",
  "delete",
  "react",
  "pin_message",
  "pin_room",
  "typing",
  "read",
  "read_thread",
  "history",
]);

export const isRoomCommand = (command: Command): command is RoomCommand => ROOM_COMMANDS.has(command.kind);

/** Who runs a command, in which room, standing how: checked once before any handler runs. */
export interface Turn {
  core: RoomCore;
  actor: Profile;
  room: Room;
  standing: Standing;
  now: number;
}

type Handler<C extends RoomCommand> = (turn: Turn, command: C) => Promise<CommandOutcome>;
export type Handlers = { [K in RoomCommand["kind"]]: Handler<Extract<RoomCommand, { kind: K }>> };

/** The handlers of plain messaging: send, typing, read, history. */
export const messagingHandlers: Pick<Handlers, "send" | "typing" | "read" | "history"> = {
  send: send,
  async typing({ core, actor, room, now }, command) {
    const expiresAt = now + TYPING_TTL_MS;
    const wasTyping = core.store.setTyping(actor, null);
    if (command.typing) {
      core.store.setTyping(actor, expiresAt);
      if (!wasTyping) core.publish(typingEvent(room, actor, true, now));
      await core.wakeAt(expiresAt);
    } else if (wasTyping) {
      core.publish(typingEvent(room, actor, false, now));
    }
    return ok({ kind: "typing" });
  },
  async read({ core, actor, room, now }, command) {
    const head = core.store.head();
    const target = command.seq === null ? head : Math.min(Math.max(0, Math.floor(command.seq)), head);
    const prior = core.store.readMarker(actor.id);
    if (target <= prior) return ok({ kind: "read", room: room.key, seq: prior });
    const seqs = core.store.othersMessageSeqs(actor.id, prior, target, 100);
    core.store.setReadMarker(actor.id, target);
    core.publish({
      type: "read",
      room: room.key,
      user_id: actor.id,
      seq: target,
      message_seqs: seqs,
      at: new Date(now).toISOString(),
    });
    await core.wakeAt(now + FLUSH_DELAY_MS);
    return ok({ kind: "read", room: room.key, seq: target });
  },
  async history({ core, actor, room }, command) {
    const threadId = command.query.thread_id;
    if (threadId !== undefined) {
      const root = targetOf(await core.log.find(room, threadId, actor.id), actor.id);
      if (!root.ok) return root;
    }
    const messages = await core.log.history(room, actor.id, command.query);
    return ok({ kind: "history", room: room.key, messages });
  },
};

export const typingEvent = (room: Room, user: Profile, typing: boolean, now: number) =>
  ({ type: "typing", room: room.key, user, typing, at: new Date(now).toISOString() }) as const;

async function send(turn: Turn, command: Extract<RoomCommand, { kind: "send" }>): Promise<CommandOutcome> {
  const { core, actor, room, standing, now } = turn;
  const parsed = draftSchema.safeParse(command.draft);
  if (!parsed.success) return refuse.badRequest(firstIssue(parsed.error));
  const draft = parsed.data;
  const limit = checkDraftLimits(draft, core.limits.maxMessageChars);
  if (limit) return fail(limit.code, limit.message);
  const earlier = await duplicateOf(turn, draft.temp_id);
  if (earlier) return earlier;
  const to = draft.to ?? null;
  if (to !== null && (to === actor.id || !core.guard.mayParticipate(to)))
    return refuse.badRequest("the recipient is not in this room");
  // A thread root older than the hot log is read from D1; the input gate opens meanwhile, so what the wait may
  // have changed (the same temp id stored, the root deleted) is checked again after it.
  const parentRef = draft.parent_id ?? null;
  const found = parentRef === null ? null : await core.log.find(room, parentRef, actor.id);
  if (parentRef !== null) {
    const again = await duplicateOf(turn, draft.temp_id);
    if (again) return again;
    if (core.guard.room()?.epoch !== room.epoch) return refuse.roomNotFound();
  }
  const bucket = takeToken(core.buckets.get(actor.id), now, core.limits.ratePerSecond, core.limits.rateBurst);
  core.buckets.set(actor.id, bucket.bucket);
  if (!bucket.allowed) return refuse.rateLimited(bucket.retryAfter);
  const createdAt = new Date(now).toISOString();
  const mentioned = extractMentions(draft, {
    senderId: actor.id,
    isMember: (id) => core.guard.roleOf(id) !== null,
    canMentionRoom: canMentionRoom(room, standing),
  });
  const stored = core.transaction(() => {
    const root =
      parentRef === null
        ? null
        : checkReplyRoot(
            found ? (core.store.findMessage({ id: found.id }) ?? found) : null,
            { to },
            actor.id,
          );
    if (root && !root.ok) return root;
    const parent = root?.value ?? null;
    const message = core.store.appendMessage(
      (seq): Message => ({
        id: newMessageId(),
        room: room.key,
        seq,
        sender: actor,
        type: draft.type ?? "text",
        text: draft.text,
        custom_type: draft.custom_type ?? null,
        data: draft.data ?? null,
        to,
        parent_id: parent?.id ?? null,
        parent_seq: parent?.seq ?? null,
        temp_id: draft.temp_id,
        created_at: createdAt,
        edited_at: null,
        deleted_at: null,
        version: 1,
        changed_seq: seq,
        thread: null,
        reactions: [],
        pinned_at: null,
        ...mentioned,
      }),
      now,
    );
    // The thread's followers before this reply are the ones it notifies as a reply; before the first reply the
    // thread tables do not know the root yet, but its author follows it already.
    const threadFollowers = parent
      ? [...new Set([parent.sender.id, ...core.lifecycle.followers(parent.id)])]
      : [];
    const members = core.guard.memberIds();
    core.store.queueNotifications(notificationsFor(message, room, { members, threadFollowers }));
    if (!parent) return ok({ message, rootEvent: null });
    const thread = core.lifecycle.recordReply(parent, message);
    const rootEvent = core.store.appendEvent((seq) => ({
      type: "message_updated" as const,
      room: room.key,
      seq,
      at: createdAt,
      change: "thread" as const,
      message: { ...parent, thread, changed_seq: seq },
    }));
    core.store.changeMessage(rootEvent.message, "thread", createdAt);
    return ok({ message, rootEvent });
  });
  if (!stored.ok) return stored;
  const { message, rootEvent } = stored.value;
  if (core.store.setTyping(actor, null)) core.publish(typingEvent(room, actor, false, now));
  core.publish({ type: "message", room: room.key, seq: message.seq, at: createdAt, message });
  if (rootEvent) core.publish(rootEvent);
  const ack = {
    temp_id: draft.temp_id,
    id: message.id,
    seq: message.seq,
    epoch: room.epoch,
    created_at: createdAt,
    duplicate: false,
  };
  return ok({ kind: "sent", room: room.key, ack, message });
}

/** The first result for a temp id this sender already used: nothing is stored or sent again. */
async function duplicateOf({ core, actor, room }: Turn, tempId: string): Promise<CommandOutcome | null> {
  const earlier = core.store.findByTempId(actor.id, tempId);
  if (!earlier) return null;
  const message = await core.log.message(room, earlier.seq, actor.id);
  const ack = { temp_id: tempId, ...earlier, epoch: room.epoch, duplicate: true };
  return message ? ok({ kind: "sent", room: room.key, ack, message }) : refuse.internal();
}
