import { createRoute } from "@hono/zod-openapi";
import type { CommandOutcome, CommandResult } from "../domain/commands";
import type { ErrorCode } from "../domain/errors";
import type { Profile } from "../domain/model";
import type { Env } from "../env";
import { type DispatchedCommand, dispatch } from "../rooms/dispatch";
import { jsonBody, jsonResponse, newApi, optionalJsonBody, withChatToken } from "./api";
import { errorResponses, refuse, unwrap } from "./errors";
import { resolveRoomKey } from "./rooms";
import {
  editBodySchema,
  historyQuerySchema,
  idempotencyHeadersSchema,
  messageParamsSchema,
  messageResultSchema,
  messagesSchema,
  reactionParamsSchema,
  readBodySchema,
  readSchema,
  roomParamsSchema,
  roomPinSchema,
  sendBodySchema,
  sentSchema,
} from "./schemas";

/**
 * The life of a message over HTTP: send, edit, delete, react, pin, read markers, my room pin and history. Each
 * route is one canonical room command run through `dispatch`, the same path every socket takes into a room, so
 * the room alone decides permissions and limits; a route validates, names the room and translates the result.
 */

type CommandInRoom = DispatchedCommand extends infer C
  ? C extends { room: unknown }
    ? Omit<C, "room">
    : never
  : never;

/** Runs `command` for `user` in the room `ref` names and returns its result, which must be of `kind`. */
async function runInRoom<K extends CommandResult["kind"]>(
  env: Env,
  user: Profile,
  ref: string,
  command: CommandInRoom,
  kind: K,
): Promise<Extract<CommandResult, { kind: K }>> {
  const room = await resolveRoomKey(env, ref);
  const outcome: CommandOutcome = await dispatch(env, user, { ...command, room } as DispatchedCommand);
  const result = unwrap(outcome);
  if (result.kind !== kind) throw new Error(`${command.kind} answered ${result.kind}, not ${kind}`);
  return result as Extract<CommandResult, { kind: K }>;
}

const ERRORS: ErrorCode[] = ["bad_request", "unauthorized", "forbidden", "not_found"];
const BODY_ERRORS: ErrorCode[] = [...ERRORS, "payload_too_large"];

const send = createRoute({
  method: "post",
  path: "/v1/rooms/{id}/messages",
  tags: ["messages"],
  summary: "Send a message",
  description:
    "The idempotency key is the `Idempotency-Key` header or `temp_id` (equal when both are given): a retry " +
    "with a key I used in this room returns the first result with 200 and `duplicate: true`, and sends " +
    "nothing again. Without a key every call sends a new message.",
  ...withChatToken,
  request: { params: roomParamsSchema, headers: idempotencyHeadersSchema, body: jsonBody(sendBodySchema) },
  responses: {
    201: jsonResponse(sentSchema, "Sent"),
    200: jsonResponse(sentSchema, "Sent before with this key: the first result"),
    ...errorResponses(...BODY_ERRORS, "rate_limited", "content_refused"),
  },
});

const history = createRoute({
  method: "get",
  path: "/v1/rooms/{id}/messages",
  tags: ["messages"],
  summary: "A page of message history, oldest first",
  description:
    "Without `before`/`after`, the newest messages. With `thread`, only that thread's replies. Whispers to " +
    "others are left out.",
  ...withChatToken,
  request: { params: roomParamsSchema, query: historyQuerySchema },
  responses: { 200: jsonResponse(messagesSchema, "Messages, oldest first"), ...errorResponses(...ERRORS) },
});

const edit = createRoute({
  method: "patch",
  path: "/v1/rooms/{id}/messages/{message}",
  tags: ["messages"],
  summary: "Edit my message",
  description:
    "The author only, within the room's edit window. The new text replaces the old; `data` when given.",
  ...withChatToken,
  request: { params: messageParamsSchema, body: jsonBody(editBodySchema) },
  responses: {
    200: jsonResponse(messageResultSchema, "The edited message"),
    ...errorResponses(...BODY_ERRORS),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/rooms/{id}/messages/{message}",
  tags: ["messages"],
  summary: "Delete a message (its author, or a room owner or admin)",
  description: "Leaves a tombstone: the message keeps its place with its text and data wiped.",
  ...withChatToken,
  request: { params: messageParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(...ERRORS) },
});

const reactionRoute = (method: "put" | "delete") =>
  createRoute({
    method,
    path: "/v1/rooms/{id}/messages/{message}/reactions/{emoji}",
    tags: ["messages"],
    summary: method === "put" ? "React to a message" : "Take my reaction back",
    description: "Idempotent: one reaction per user per emoji.",
    ...withChatToken,
    request: { params: reactionParamsSchema },
    responses: {
      200: jsonResponse(messageResultSchema, "The message with its reactions"),
      ...errorResponses(...ERRORS),
    },
  });

const messagePinRoute = (method: "put" | "delete") =>
  createRoute({
    method,
    path: "/v1/rooms/{id}/messages/{message}/pin",
    tags: ["messages"],
    summary: method === "put" ? "Pin a message in the room (moderators)" : "Unpin a message (moderators)",
    ...withChatToken,
    request: { params: messageParamsSchema },
    responses: {
      200: jsonResponse(messageResultSchema, "The message with its `pinned_at`"),
      ...errorResponses(...ERRORS),
    },
  });

const read = createRoute({
  method: "put",
  path: "/v1/rooms/{id}/read",
  tags: ["messages"],
  summary: "Move my read marker",
  description: "To `seq`, or to the room's newest event without it. A marker never moves back.",
  ...withChatToken,
  request: { params: roomParamsSchema, body: optionalJsonBody(readBodySchema) },
  responses: { 200: jsonResponse(readSchema, "My read marker"), ...errorResponses(...BODY_ERRORS) },
});

const readThread = createRoute({
  method: "put",
  path: "/v1/rooms/{id}/threads/{message}/read",
  tags: ["messages"],
  summary: "Mark a thread read",
  ...withChatToken,
  request: { params: messageParamsSchema },
  responses: { 204: { description: "Read" }, ...errorResponses(...ERRORS) },
});

const roomPinRoute = (method: "put" | "delete") =>
  createRoute({
    method,
    path: "/v1/rooms/{id}/pin",
    tags: ["members"],
    summary: method === "put" ? "Pin the room in my room list" : "Unpin the room from my room list",
    ...withChatToken,
    request: { params: roomParamsSchema },
    responses: { 200: jsonResponse(roomPinSchema, "My pin of the room"), ...errorResponses(...ERRORS) },
  });

export const messageRoutes = newApi()
  .openapi(send, async (c) => {
    const { "idempotency-key": header } = c.req.valid("header");
    const { temp_id, ...draft } = c.req.valid("json");
    if (header !== undefined && temp_id !== undefined && header !== temp_id)
      refuse("bad_request", "Idempotency-Key and temp_id differ");
    const key = header ?? temp_id ?? crypto.randomUUID();
    const { ack, message } = await runInRoom(
      c.env,
      c.var.user,
      c.req.valid("param").id,
      { kind: "send", draft: { ...draft, temp_id: key } },
      "sent",
    );
    const sent = { message, epoch: ack.epoch, duplicate: ack.duplicate };
    return ack.duplicate ? c.json(sent, 200) : c.json(sent, 201);
  })
  .openapi(history, async (c) => {
    const { thread, ...page } = c.req.valid("query");
    const query = thread === undefined ? page : { ...page, thread_id: thread };
    const { messages } = await runInRoom(
      c.env,
      c.var.user,
      c.req.valid("param").id,
      { kind: "history", query },
      "history",
    );
    return c.json({ messages }, 200);
  })
  .openapi(edit, async (c) => {
    const { id, message } = c.req.valid("param");
    const command = { kind: "edit", message_id: message, ...c.req.valid("json") } as const;
    const result = await runInRoom(c.env, c.var.user, id, command, "edited");
    return c.json({ message: result.message }, 200);
  })
  .openapi(remove, async (c) => {
    const { id, message } = c.req.valid("param");
    await runInRoom(c.env, c.var.user, id, { kind: "delete", message_id: message }, "deleted");
    return c.body(null, 204);
  })
  .openapi(reactionRoute("put"), async (c) => {
    const { id, message, emoji } = c.req.valid("param");
    const command = { kind: "react", message_id: message, emoji, add: true } as const;
    const result = await runInRoom(c.env, c.var.user, id, command, "reacted");
    return c.json({ message: result.message }, 200);
  })
  .openapi(reactionRoute("delete"), async (c) => {
    const { id, message, emoji } = c.req.valid("param");
    const command = { kind: "react", message_id: message, emoji, add: false } as const;
    const result = await runInRoom(c.env, c.var.user, id, command, "reacted");
    return c.json({ message: result.message }, 200);
  })
  .openapi(messagePinRoute("put"), async (c) => {
    const { id, message } = c.req.valid("param");
    const command = { kind: "pin_message", message_id: message, pinned: true } as const;
    const result = await runInRoom(c.env, c.var.user, id, command, "message_pinned");
    return c.json({ message: result.message }, 200);
  })
  .openapi(messagePinRoute("delete"), async (c) => {
    const { id, message } = c.req.valid("param");
    const command = { kind: "pin_message", message_id: message, pinned: false } as const;
    const result = await runInRoom(c.env, c.var.user, id, command, "message_pinned");
    return c.json({ message: result.message }, 200);
  })
  .openapi(read, async (c) => {
    const command = { kind: "read", seq: c.req.valid("json").seq ?? null } as const;
    const result = await runInRoom(c.env, c.var.user, c.req.valid("param").id, command, "read");
    return c.json({ seq: result.seq }, 200);
  })
  .openapi(readThread, async (c) => {
    const { id, message } = c.req.valid("param");
    await runInRoom(c.env, c.var.user, id, { kind: "read_thread", thread_id: message }, "thread_read");
    return c.body(null, 204);
  })
  .openapi(roomPinRoute("put"), async (c) => {
    const command = { kind: "pin_room", pinned: true } as const;
    const result = await runInRoom(c.env, c.var.user, c.req.valid("param").id, command, "room_pinned");
    return c.json({ pinned_at: result.pinned_at }, 200);
  })
  .openapi(roomPinRoute("delete"), async (c) => {
    const command = { kind: "pin_room", pinned: false } as const;
    const result = await runInRoom(c.env, c.var.user, c.req.valid("param").id, command, "room_pinned");
    return c.json({ pinned_at: result.pinned_at }, 200);
  });
