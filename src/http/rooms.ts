import { createRoute, z } from "@hono/zod-openapi";
import { base64url } from "jose";
import type { ErrorCode } from "../domain/errors";
import { directRoomKey, directRoomUsers, newRoomKey, ROOM_KEY_PATTERN } from "../domain/ids";
import type { Role } from "../domain/model";
import type { Env } from "../env";
import { roomStub } from "../rooms/stubs";
import { type RoomListCursor, resolveRoomRef, roomsOfUser, setRoomMuted } from "../storage/room-index";
import { profilesOf } from "../storage/users";
import { jsonBody, jsonResponse, newApi, withChatToken } from "./api";
import { errorResponses, refuse, unwrap } from "./errors";
import {
  addMembersBodySchema,
  createRoomBodySchema,
  directBodySchema,
  memberParamsSchema,
  memberSchema,
  membersSchema,
  muteBodySchema,
  roleBodySchema,
  roomListQuerySchema,
  roomListSchema,
  roomParamsSchema,
  roomSchema,
  roomViewSchema,
  updateRoomBodySchema,
} from "./schemas";

/**
 * Rooms, members, bans, mute and direct rooms. Each room's Durable Object is the single writer of its
 * state and decides every permission; these routes validate, resolve the room and translate its outcome.
 */

/**
 * The key of the room a URL names by key or by numeric id (an all-digit segment is tried as a key first, as on
 * the socket routes); unknown numbers and impossible keys are 404.
 */
export async function resolveRoomKey(env: Env, ref: string): Promise<string> {
  const key = ROOM_KEY_PATTERN.test(ref) || directRoomUsers(ref) ? await resolveRoomRef(env.DB, ref) : null;
  return key ?? refuse("not_found", `no room ${ref}`);
}

async function roomOf(env: Env, ref: string) {
  return roomStub(env, await resolveRoomKey(env, ref));
}

/** Other users as the room should first know them: their stored profile, else just their id. */
async function newMembers(env: Env, userIds: string[], role: Role, except: string) {
  const ids = [...new Set(userIds)].filter((id) => id !== except);
  return (await profilesOf(env.DB, ids)).map((profile) => ({ profile, role }));
}

const cursorSchema = z.object({ active_at: z.string(), number: z.number().int() });

const encodeCursor = (cursor: RoomListCursor): string => base64url.encode(JSON.stringify(cursor));

function decodeCursor(raw: string): RoomListCursor {
  try {
    return cursorSchema.parse(JSON.parse(new TextDecoder().decode(base64url.decode(raw))));
  } catch {
    return refuse("bad_request", "cursor is not one this API returned");
  }
}

const ROOM_ERRORS: ErrorCode[] = ["bad_request", "unauthorized", "forbidden", "not_found"];
const ROOM_BODY_ERRORS: ErrorCode[] = [...ROOM_ERRORS, "payload_too_large"];

const createRoom = createRoute({
  method: "post",
  path: "/v1/rooms",
  tags: ["rooms"],
  summary: "Create a group or live room",
  ...withChatToken,
  request: { body: jsonBody(createRoomBodySchema) },
  responses: {
    201: jsonResponse(roomSchema, "The new room; I am its owner"),
    ...errorResponses("bad_request", "unauthorized", "conflict", "payload_too_large"),
  },
});

const listRooms = createRoute({
  method: "get",
  path: "/v1/rooms",
  tags: ["rooms"],
  summary: "The rooms I am a member of",
  description: "Most recently active first, with my unread count and the last message I can see.",
  ...withChatToken,
  request: { query: roomListQuerySchema },
  responses: {
    200: jsonResponse(roomListSchema, "A page of my rooms"),
    ...errorResponses("bad_request", "unauthorized"),
  },
});

const getRoom = createRoute({
  method: "get",
  path: "/v1/rooms/{id}",
  tags: ["rooms"],
  summary: "A room with its members",
  ...withChatToken,
  request: { params: roomParamsSchema },
  responses: { 200: jsonResponse(roomViewSchema, "The room"), ...errorResponses(...ROOM_ERRORS) },
});

const updateRoom = createRoute({
  method: "patch",
  path: "/v1/rooms/{id}",
  tags: ["rooms"],
  summary: "Change a room (owners and admins)",
  ...withChatToken,
  request: { params: roomParamsSchema, body: jsonBody(updateRoomBodySchema) },
  responses: { 200: jsonResponse(roomSchema, "The changed room"), ...errorResponses(...ROOM_BODY_ERRORS) },
});

const deleteRoom = createRoute({
  method: "delete",
  path: "/v1/rooms/{id}",
  tags: ["rooms"],
  summary: "Delete a room (owners)",
  ...withChatToken,
  request: { params: roomParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(...ROOM_ERRORS) },
});

const addMembers = createRoute({
  method: "post",
  path: "/v1/rooms/{id}/members",
  tags: ["members"],
  summary: "Add members (owners and admins; only owners grant admin or owner)",
  ...withChatToken,
  request: { params: roomParamsSchema, body: jsonBody(addMembersBodySchema) },
  responses: {
    200: jsonResponse(membersSchema, "The added members"),
    ...errorResponses(...ROOM_BODY_ERRORS),
  },
});

const removeMember = createRoute({
  method: "delete",
  path: "/v1/rooms/{id}/members/{user}",
  tags: ["members"],
  summary: "Remove a member (owners and admins)",
  ...withChatToken,
  request: { params: memberParamsSchema },
  responses: { 204: { description: "Removed" }, ...errorResponses(...ROOM_ERRORS) },
});

const leaveRoom = createRoute({
  method: "post",
  path: "/v1/rooms/{id}/leave",
  tags: ["members"],
  summary: "Leave a room",
  ...withChatToken,
  request: { params: roomParamsSchema },
  responses: { 204: { description: "Left" }, ...errorResponses(...ROOM_ERRORS, "conflict") },
});

const setRole = createRoute({
  method: "put",
  path: "/v1/rooms/{id}/members/{user}/role",
  tags: ["members"],
  summary: "Change a member's role",
  ...withChatToken,
  request: { params: memberParamsSchema, body: jsonBody(roleBodySchema) },
  responses: {
    200: jsonResponse(memberSchema, "The member with the new role"),
    ...errorResponses(...ROOM_BODY_ERRORS, "conflict"),
  },
});

const banUser = createRoute({
  method: "put",
  path: "/v1/rooms/{id}/bans/{user}",
  tags: ["members"],
  summary: "Ban a user (removes them and keeps them out)",
  ...withChatToken,
  request: { params: memberParamsSchema },
  responses: { 204: { description: "Banned" }, ...errorResponses(...ROOM_ERRORS) },
});

const unbanUser = createRoute({
  method: "delete",
  path: "/v1/rooms/{id}/bans/{user}",
  tags: ["members"],
  summary: "Lift a ban",
  ...withChatToken,
  request: { params: memberParamsSchema },
  responses: { 204: { description: "Unbanned" }, ...errorResponses(...ROOM_ERRORS) },
});

const muteRoom = createRoute({
  method: "put",
  path: "/v1/rooms/{id}/mute",
  tags: ["members"],
  summary: "Mute or unmute push notifications of a room for me",
  ...withChatToken,
  request: { params: roomParamsSchema, body: jsonBody(muteBodySchema) },
  responses: { 200: jsonResponse(muteBodySchema, "My mute setting"), ...errorResponses(...ROOM_BODY_ERRORS) },
});

const openDirect = createRoute({
  method: "post",
  path: "/v1/direct",
  tags: ["rooms"],
  summary: "Get or create my direct room with another user",
  description: "One room per pair of users with a stable key; 201 when created, 200 when it existed.",
  ...withChatToken,
  request: { body: jsonBody(directBodySchema) },
  responses: {
    200: jsonResponse(roomSchema, "The existing direct room"),
    201: jsonResponse(roomSchema, "The new direct room"),
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
  },
});

export const roomRoutes = newApi()
  .openapi(createRoom, async (c) => {
    const body = c.req.valid("json");
    const me = c.var.user;
    const key = body.key ?? newRoomKey();
    const { room } = unwrap(
      await roomStub(c.env, key).create({
        key,
        kind: body.kind,
        name: body.name ?? null,
        description: body.description ?? null,
        metadata: body.metadata ?? {},
        private: body.private ?? false,
        creator: me,
        members: await newMembers(c.env, body.members, "member", me.id),
      }),
    );
    return c.json(room, 201);
  })
  .openapi(listRooms, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = await roomsOfUser(c.env.DB, c.var.user.id, limit, cursor ? decodeCursor(cursor) : null);
    return c.json({ rooms: page.items, next_cursor: page.next ? encodeCursor(page.next) : null }, 200);
  })
  .openapi(getRoom, async (c) => {
    const room = await roomOf(c.env, c.req.valid("param").id);
    return c.json(unwrap(await room.view(c.var.user.id)), 200);
  })
  .openapi(updateRoom, async (c) => {
    const room = await roomOf(c.env, c.req.valid("param").id);
    return c.json(unwrap(await room.update(c.var.user.id, c.req.valid("json"))), 200);
  })
  .openapi(deleteRoom, async (c) => {
    const room = await roomOf(c.env, c.req.valid("param").id);
    unwrap(await room.destroy(c.var.user.id));
    return c.body(null, 204);
  })
  .openapi(addMembers, async (c) => {
    const { user_ids, role } = c.req.valid("json");
    const room = await roomOf(c.env, c.req.valid("param").id);
    const members = await newMembers(c.env, user_ids, role, c.var.user.id);
    return c.json({ members: unwrap(await room.addMembers(c.var.user.id, members)) }, 200);
  })
  .openapi(removeMember, async (c) => {
    const { id, user } = c.req.valid("param");
    unwrap(await (await roomOf(c.env, id)).removeMember(c.var.user.id, user));
    return c.body(null, 204);
  })
  .openapi(leaveRoom, async (c) => {
    const me = c.var.user.id;
    unwrap(await (await roomOf(c.env, c.req.valid("param").id)).removeMember(me, me));
    return c.body(null, 204);
  })
  .openapi(setRole, async (c) => {
    const { id, user } = c.req.valid("param");
    const room = await roomOf(c.env, id);
    return c.json(unwrap(await room.setRole(c.var.user.id, user, c.req.valid("json").role)), 200);
  })
  .openapi(banUser, async (c) => {
    const { id, user } = c.req.valid("param");
    unwrap(await (await roomOf(c.env, id)).ban(c.var.user.id, user));
    return c.body(null, 204);
  })
  .openapi(unbanUser, async (c) => {
    const { id, user } = c.req.valid("param");
    unwrap(await (await roomOf(c.env, id)).unban(c.var.user.id, user));
    return c.body(null, 204);
  })
  .openapi(muteRoom, async (c) => {
    const { muted } = c.req.valid("json");
    const me = c.var.user.id;
    const key = await resolveRoomKey(c.env, c.req.valid("param").id);
    if (!(await setRoomMuted(c.env.DB, key, me, muted))) {
      // No membership row: let the room say whether it exists and what I am, so the refusal is the usual one.
      unwrap(await roomStub(c.env, key).access(me));
      refuse("forbidden", "only members can mute a room");
    }
    return c.json({ muted }, 200);
  })
  .openapi(openDirect, async (c) => {
    const me = c.var.user;
    const { user_id: other } = c.req.valid("json");
    if (other === me.id) refuse("bad_request", "a direct room needs another user");
    const key = directRoomKey(me.id, other);
    const { room, created } = unwrap(
      await roomStub(c.env, key).create({
        key,
        kind: "direct",
        creator: me,
        members: await newMembers(c.env, [other], "member", me.id),
      }),
    );
    return created ? c.json(room, 201) : c.json(room, 200);
  });
