import type { Command, CommandOutcome } from "../domain/commands";
import { fail, ok, refuse } from "../domain/errors";
import { newMessageId } from "../domain/ids";
import type { Message, Profile, Room } from "../domain/model";
import type { Standing } from "../domain/permissions";
import { takeToken } from "../domain/rate-limit";
import { checkDraftLimits, draftSchema, firstIssue } from "../domain/validation";
import { FLUSH_DELAY_MS, type RoomCore } from "./core";
import { contentRefusal } from "./moderation";

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
    const messages = await core.log.history(room, actor.id, command.query);
    return ok({ kind: "history", room: room.key, messages });
  },
};

export const typingEvent = (room: Room, user: Profile, typing: boolean, now: number) =>
  ({ type: "typing", room: room.key, user, typing, at: new Date(now).toISOString() }) as const;

async function send(turn: Turn, command: Extract<RoomCommand, { kind: "send" }>): Promise<CommandOutcome> {
  const { core, actor, room, now } = turn;
  const parsed = draftSchema.safeParse(command.draft);
  if (!parsed.success) return refuse.badRequest(firstIssue(parsed.error));
  const draft = parsed.data;
  const limit = checkDraftLimits(draft, core.limits.maxMessageChars);
  if (limit) return fail(limit.code, limit.message);
  // Before the temp id lookup: the policy may wait on its webhook, and the lookup must not be stale.
  const refused = await contentRefusal(core.env, { room: room.key, sender_id: actor.id, text: draft.text });
  if (refused) return refused;
  const earlier = core.store.findByTempId(actor.id, draft.temp_id);
  if (earlier) {
    const message = await core.log.message(room, earlier.seq, actor.id);
    const ack = { temp_id: draft.temp_id, ...earlier, epoch: room.epoch, duplicate: true };
    return message ? ok({ kind: "sent", room: room.key, ack, message }) : refuse.internal();
  }
  const to = draft.to ?? null;
  if (to !== null && (to === actor.id || !core.guard.mayParticipate(to)))
    return refuse.badRequest("the recipient is not in this room");
  const bucket = takeToken(core.buckets.get(actor.id), now, core.limits.ratePerSecond, core.limits.rateBurst);
  core.buckets.set(actor.id, bucket.bucket);
  if (!bucket.allowed) return refuse.rateLimited(bucket.retryAfter);
  const createdAt = new Date(now).toISOString();
  const message = core.transaction(() =>
    core.store.appendMessage(
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
        parent_id: draft.parent_id ?? null,
        temp_id: draft.temp_id,
        created_at: createdAt,
        edited_at: null,
        deleted_at: null,
        version: 1,
        changed_seq: seq,
        thread: null,
        reactions: [],
        pinned_at: null,
        mentions: [],
        mentions_room: false,
      }),
      now,
    ),
  );
  if (core.store.setTyping(actor, null)) core.publish(typingEvent(room, actor, false, now));
  core.publish({ type: "message", room: room.key, seq: message.seq, at: createdAt, message });
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
