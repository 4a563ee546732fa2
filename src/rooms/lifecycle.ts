import type { CommandOutcome } from "../domain/commands";
import { editWindowSeconds, planDelete, planEdit } from "../domain/edits";
import { fail, ok, refuse } from "../domain/errors";
import type { UserEvent } from "../domain/events";
import { planPin, targetOf } from "../domain/lifecycle";
import type { Message, MessageRef } from "../domain/model";
import { canPinRoom } from "../domain/permissions";
import { planReaction } from "../domain/reactions";
import type { Handlers, RoomCommand, Turn } from "./commands";
import { FLUSH_DELAY_MS, type RoomCore } from "./core";
import { userStub } from "./stubs";

type Of<K extends RoomCommand["kind"]> = Extract<RoomCommand, { kind: K }>;

/**
 * The message lifecycle's commands: edit, delete, react, pin a message, pin the room in one's list, read a
 * thread. Each decision is a pure plan (`domain/`); here the target is found, the plan's writes and its durable
 * event go into one transaction (the event's seq becomes the message's `changed_seq`, and the outbox row that
 * carries it to D1), and the event is published. A command that changes nothing answers ok with no event.
 */
export const lifecycleHandlers: Pick<
  Handlers,
  "edit" | "delete" | "react" | "pin_message" | "pin_room" | "read_thread"
> = { edit, delete: remove, react, pin_message: pinMessage, pin_room: pinRoom, read_thread: readThread };

/**
 * The message a command names, in its newest state. A message older than the hot log is read from D1, and the
 * input gate opens while that read waits: afterwards the room's own copy, if another command changed it
 * meanwhile, wins; and the room must still be the one the turn began in.
 */
async function findTarget(turn: Turn, ref: MessageRef): Promise<Message | null | "room_gone"> {
  const { core, room, actor } = turn;
  const found = await core.log.find(room, ref, actor.id);
  const now = core.guard.room();
  if (!now || now.epoch !== room.epoch) return "room_gone";
  return found ? (core.store.findMessage({ id: found.id }) ?? found) : null;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function edit(turn: Turn, command: Of<"edit">): Promise<CommandOutcome> {
  const { core, room, actor, now } = turn;
  const found = await findTarget(turn, command.message_id);
  if (found === "room_gone") return refuse.roomNotFound();
  const rules = {
    maxMessageChars: core.limits.maxMessageChars,
    editWindowSeconds: editWindowSeconds(core.env.EDIT_WINDOW_SECONDS),
  };
  const request =
    command.data === undefined ? { text: command.text } : { text: command.text, data: command.data };
  const plan = planEdit(found, actor.id, request, rules, now);
  if (!plan.ok) return plan;
  if (!plan.value.changed) return ok({ kind: "edited", room: room.key, message: plan.value.message });
  const { message, previous } = plan.value;
  const at = iso(now);
  const event = core.transaction(() => {
    core.lifecycle.recordEdit(previous, at);
    const appended = core.store.appendEvent((seq) => ({
      type: "message_updated" as const,
      room: room.key,
      seq,
      at,
      change: "edit" as const,
      message: { ...message, changed_seq: seq },
    }));
    core.store.changeMessage(appended.message, "edit", at);
    return appended;
  });
  core.publish(event);
  return ok({ kind: "edited", room: room.key, message: event.message });
}

async function remove(turn: Turn, command: Of<"delete">): Promise<CommandOutcome> {
  const { core, room, actor, standing, now } = turn;
  const found = await findTarget(turn, command.message_id);
  if (found === "room_gone") return refuse.roomNotFound();
  const plan = planDelete(found, standing, actor.id, now);
  if (!plan.ok) return plan;
  const tombstone = plan.value.message;
  if (!plan.value.changed) return ok({ kind: "deleted", room: room.key, message_id: tombstone.id });
  // A reply's root may be older than the hot log: read it before the transaction, which cannot wait.
  const root = tombstone.parent_id === null ? null : await findTarget(turn, tombstone.parent_id);
  if (root === "room_gone") return refuse.roomNotFound();
  const at = iso(now);
  const event = core.transaction(() => {
    const current = core.store.findMessage({ id: tombstone.id });
    if (current?.deleted_at) return null;
    const thread = core.lifecycle.forgetMessage(tombstone);
    const rootNow = root ? (core.store.findMessage({ id: root.id }) ?? root) : null;
    const appended = core.store.appendEvent((seq) => ({
      type: "message_deleted" as const,
      room: room.key,
      seq,
      at,
      message: { ...tombstone, changed_seq: seq },
      parent: rootNow && thread ? { ...rootNow, thread: thread.thread, changed_seq: seq } : null,
    }));
    core.store.changeMessage(appended.message, "delete", at);
    if (appended.parent) core.store.changeMessage(appended.parent, "thread", at);
    return appended;
  });
  if (event) core.publish(event);
  return ok({ kind: "deleted", room: room.key, message_id: tombstone.id });
}

async function react(turn: Turn, command: Of<"react">): Promise<CommandOutcome> {
  const { core, room, actor, now } = turn;
  const found = await findTarget(turn, command.message_id);
  if (found === "room_gone") return refuse.roomNotFound();
  const plan = planReaction(found, actor.id, command.emoji);
  if (!plan.ok) return plan;
  const { message, emoji } = plan.value;
  const at = iso(now);
  const outcome = core.transaction(() => {
    const add =
      command.add === "toggle" ? !core.lifecycle.hasReacted(message.id, emoji, actor.id) : command.add;
    const result = core.lifecycle.react(message.id, emoji, actor, add, at);
    if (!result.ok) return result;
    if (!result.value.changed) return ok({ message, event: null });
    const { reactions } = result.value;
    const event = core.store.appendEvent((seq) => ({
      type: "reaction_changed" as const,
      room: room.key,
      seq,
      at,
      message_id: message.id,
      message_seq: message.seq,
      emoji,
      user: actor,
      added: add,
      reactions,
      message: { ...message, reactions, changed_seq: seq },
    }));
    core.store.changeMessage(event.message, "reaction", at);
    return ok({ message: event.message, event });
  });
  if (!outcome.ok) return outcome;
  if (outcome.value.event) core.publish(outcome.value.event);
  return ok({ kind: "reacted", room: room.key, message: outcome.value.message });
}

async function pinMessage(turn: Turn, command: Of<"pin_message">): Promise<CommandOutcome> {
  const { core, room, actor, standing, now } = turn;
  const found = await findTarget(turn, command.message_id);
  if (found === "room_gone") return refuse.roomNotFound();
  const plan = planPin(found, room, standing, actor.id, command.pinned, core.lifecycle.pinCount(), now);
  if (!plan.ok) return plan;
  if (!plan.value.changed) return ok({ kind: "message_pinned", room: room.key, message: plan.value.message });
  const pinned = plan.value.message;
  const at = iso(now);
  const event = core.transaction(() => {
    core.lifecycle.setPinned(pinned, actor);
    const appended = core.store.appendEvent((seq) => ({
      type: "message_pinned" as const,
      room: room.key,
      seq,
      at,
      message: { ...pinned, changed_seq: seq },
      pinned: command.pinned,
      by: actor,
    }));
    core.store.changeMessage(appended.message, "pin", at);
    return appended;
  });
  core.publish(event);
  return ok({ kind: "message_pinned", room: room.key, message: event.message });
}

async function pinRoom(
  { core, room, actor, standing, now }: Turn,
  command: Of<"pin_room">,
): Promise<CommandOutcome> {
  if (!canPinRoom(standing)) return refuse.forbidden("only members pin a room in their list");
  const result = core.lifecycle.pinRoom(actor.id, command.pinned, iso(now));
  if (result.changed) {
    await core.wakeAt(now + FLUSH_DELAY_MS);
    const event: UserEvent =
      result.pinned_at === null
        ? { type: "room_unpinned", room: room.key }
        : { type: "room_pinned", room: room.key, pinned_at: result.pinned_at };
    await tellUser(core, actor.id, event);
  }
  return ok({ kind: "room_pinned", room: room.key, pinned_at: result.pinned_at });
}

async function readThread(turn: Turn, command: Of<"read_thread">): Promise<CommandOutcome> {
  const { core, room, actor } = turn;
  const found = await findTarget(turn, command.thread_id);
  if (found === "room_gone") return refuse.roomNotFound();
  const root = targetOf(found, actor.id);
  if (!root.ok) return root;
  const read = core.lifecycle.markThreadRead(actor.id, root.value.id);
  if (read === null) return fail("not_found", "this message has no thread");
  await tellUser(core, actor.id, {
    type: "thread_read",
    room: room.key,
    thread_id: root.value.id,
    thread_seq: root.value.seq,
  });
  return ok({ kind: "thread_read", room: room.key, thread_id: root.value.id });
}

/** A user event for every device of the user (kept for them while they are offline). A failure is only logged. */
async function tellUser(core: RoomCore, userId: string, event: UserEvent): Promise<void> {
  try {
    await userStub(core.env, userId).userEvent(userId, event);
  } catch (error) {
    console.error("user event failed", userId, event.type, error);
  }
}
