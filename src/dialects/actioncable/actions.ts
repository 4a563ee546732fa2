import { z } from "zod";
import type { Command, RoomRef } from "../../domain/commands";
import type { ChatError } from "../../domain/errors";
import type { MessageDraft } from "../../domain/model";
import { firstIssue, tempIdSchema } from "../../domain/validation";
import type { SessionContext } from "../codec";
import { type ChannelKind, roomKeySchema, roomNumberSchema, type Subscription } from "./channels";
import { type MessagePlace, placeOfMessage } from "./ids";
import { parseObject } from "./protocol";

/**
 * The actions a client performs on a channel (`perform(action, data)`), each one canonical command. Rails runs
 * the channel's method of that name; Parley's channels define these.
 */

/** A message number (`ids.ts`), read as the room and seq it names. */
const messageNumberSchema = z.number().transform((id, ctx) => {
  const place = placeOfMessage(id);
  if (place === null) ctx.addIssue({ code: "custom", message: "not a message id" });
  return place ?? z.NEVER;
});
const richTextSchema = z.record(z.string(), z.unknown()).nullish();
/** Actions about a room outside `Chats::RoomChannel` name it by uuid or id. */
const roomParams = { chat_room_uuid: roomKeySchema.optional(), chat_room_id: roomNumberSchema.optional() };

const actionSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("send_message"),
    body: z.string(),
    creation_uuid: tempIdSchema,
    rich_text_body: richTextSchema,
    parent_message_id: messageNumberSchema.nullish(),
    ...roomParams,
  }),
  z.object({
    action: z.literal("edit_message"),
    id: messageNumberSchema,
    body: z.string(),
    rich_text_body: richTextSchema,
  }),
  z.object({ action: z.literal("delete_message"), id: messageNumberSchema }),
  z.object({ action: z.literal("mark_room_read"), ...roomParams }),
  z.object({ action: z.literal("mark_thread_read"), chat_thread_id: messageNumberSchema }),
  z.object({ action: z.literal("pin_room"), ...roomParams }),
  z.object({ action: z.literal("unpin_room"), ...roomParams }),
  z.object({
    action: z.literal("mark_notifications_read"),
    notification_id: z.string().min(1).max(128).nullish(),
  }),
]);

type Action = z.infer<typeof actionSchema>;
export type ActionName = Action["action"];

/** The channels each action belongs to, as the platform's channel classes would define them. */
const ACTION_CHANNELS: Record<ActionName, readonly ChannelKind[]> = {
  send_message: ["room", "rooms", "threads"],
  edit_message: ["room", "rooms", "threads"],
  delete_message: ["room", "rooms", "threads"],
  mark_room_read: ["room", "rooms"],
  mark_thread_read: ["room", "threads"],
  pin_room: ["room", "rooms"],
  unpin_room: ["room", "rooms"],
  mark_notifications_read: ["notifications"],
};

export const MAX_ACTION_CHARS = 64;

/** A decoded action: its command, and what an error answer echoes (the action, a send's creation uuid). */
export interface PerformedAction {
  command: Command;
  action: string;
  creation_uuid?: string;
}

const badRequest = (message: string): ChatError => ({ code: "bad_request", message });

/** The action named in `data` (for an error answer), when it can be read. */
export function actionNameOf(data: unknown): string | null {
  if (typeof data !== "string") return null;
  const action = parseObject(data)?.action;
  return typeof action === "string" ? action.slice(0, MAX_ACTION_CHARS) : null;
}

/**
 * The room an action is about: the room channel's own, else the one the action names, else the one its message
 * number names. A message number must name the same room as the channel or the parameters.
 */
function roomOf(
  sub: Subscription,
  params: { chat_room_uuid?: string; chat_room_id?: number },
  place: MessagePlace | null,
  ctx: SessionContext,
): RoomRef | ChatError {
  const bound = sub.channel === "room";
  const key = bound ? sub.key : (params.chat_room_uuid ?? null);
  const number =
    (bound ? sub.number : (params.chat_room_id ?? null)) ?? (key ? ctx.roomInfo(key)?.number : null);
  if (place !== null && key !== null && number == null)
    return badRequest("the message cannot be checked against a room this server does not know");
  if (place !== null && number != null && place.roomNumber !== number)
    return badRequest("the message is not in this room");
  if (key !== null) return key;
  if (number != null) return { number };
  if (place !== null) return { number: place.roomNumber };
  return badRequest("name the room with chat_room_uuid or chat_room_id");
}

const isError = (value: RoomRef | ChatError): value is ChatError =>
  typeof value === "object" && "code" in value;

/** The message number an action is about: the message itself, the reply's parent, the thread's root. */
function placeOf(action: Action): MessagePlace | null {
  switch (action.action) {
    case "send_message":
      return action.parent_message_id ?? null;
    case "edit_message":
    case "delete_message":
      return action.id;
    case "mark_thread_read":
      return action.chat_thread_id;
    default:
      return null;
  }
}

function toCommand(action: Action, sub: Subscription, ctx: SessionContext): Command | ChatError {
  if (action.action === "mark_notifications_read")
    return { kind: "notifications_read", id: action.notification_id ?? null };
  const place = placeOf(action);
  const params = {
    chat_room_uuid: "chat_room_uuid" in action ? action.chat_room_uuid : undefined,
    chat_room_id: "chat_room_id" in action ? action.chat_room_id : undefined,
  };
  const room = roomOf(sub, params, place, ctx);
  if (isError(room)) return room;
  const message = place && { seq: place.seq };
  switch (action.action) {
    case "send_message": {
      const draft: MessageDraft = { temp_id: action.creation_uuid, text: action.body, parent_id: message };
      if (action.rich_text_body) draft.data = action.rich_text_body;
      return { kind: "send", room, draft };
    }
    case "edit_message": {
      const command: Command = { kind: "edit", room, message_id: { seq: action.id.seq }, text: action.body };
      if (action.rich_text_body) command.data = action.rich_text_body;
      return command;
    }
    case "delete_message":
      return { kind: "delete", room, message_id: { seq: action.id.seq } };
    case "mark_thread_read":
      return { kind: "read_thread", room, thread_id: { seq: action.chat_thread_id.seq } };
    case "mark_room_read":
      return { kind: "read", room, seq: null };
    case "pin_room":
    case "unpin_room":
      return { kind: "pin_room", room, pinned: action.action === "pin_room" };
  }
}

/** The command a `message` frame's `data` asks for on `sub`, or the error its answer carries. */
export function decodeAction(
  data: unknown,
  sub: Subscription,
  ctx: SessionContext,
): PerformedAction | { action: string | null; error: ChatError } {
  const name = actionNameOf(data);
  const json = typeof data === "string" ? parseObject(data) : null;
  if (json === null) return { action: name, error: badRequest("data must be a JSON object with an action") };
  const parsed = actionSchema.safeParse(json);
  if (!parsed.success) return { action: name, error: badRequest(firstIssue(parsed.error)) };
  const action = parsed.data;
  if (!ACTION_CHANNELS[action.action].includes(sub.channel))
    return { action: action.action, error: badRequest(`this channel has no ${action.action} action`) };
  const command = toCommand(action, sub, ctx);
  if ("code" in command) return { action: action.action, error: command };
  return action.action === "send_message"
    ? { command, action: action.action, creation_uuid: action.creation_uuid }
    : { command, action: action.action };
}
