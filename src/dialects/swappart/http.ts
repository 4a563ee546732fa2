import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { tokenFromRequest } from "../../auth/jwt";
import type { ChatError } from "../../domain/errors";
import { newRoomKey } from "../../domain/ids";
import type { Message, Profile, Room } from "../../domain/model";
import { firstIssue } from "../../domain/validation";
import { type Env, limitsOf } from "../../env";
import { ApiError, refuse, unwrap } from "../../http/errors";
import type { RoomView } from "../../rooms/room-do";
import { roomStub } from "../../rooms/stubs";
import { notBanned } from "../../storage/bans";
import { roomKeyOfNumber } from "../../storage/room-index";
import { profilesOf } from "../../storage/users";
import { verifySwappartToken } from "./auth";
import { failure, statusOf, success, successAndBare } from "./envelope";
import {
  createRoomSchema,
  participantChanges,
  roomIdParamSchema,
  updateParticipantsSchema,
} from "./requests";
import { roomDetails, roomEntry } from "./shapes";
import { allRoomsOf, participantsOf } from "./store";

/**
 * The Swappart room API (seed 002) at the root paths, for the user of a Supabase access token. Every answer is
 * the `{error_message, data}` envelope. The rooms' Durable Objects decide every permission; these routes
 * validate, resolve room numbers and shape the answers.
 */

type SwappartEnv = { Bindings: Env; Variables: { user: Profile } };

export const swappartRoutes = new Hono<SwappartEnv>();

/** Newest messages `GET /rooms/:id` returns: the seed's room view has no paging. */
export const MAX_ROOM_MESSAGES = 1000;
/** The most a room's history returns per call. */
const HISTORY_PAGE = 100;

type RoomStub = ReturnType<typeof roomStub>;

/** The room a Swappart room id names; unknown numbers are 404. */
async function roomNumbered(env: Env, number: number): Promise<RoomStub> {
  const key = await roomKeyOfNumber(env.DB, number);
  return key ? roomStub(env, key) : refuse("not_found", `no room ${number}`);
}

/** One page of a room's history as `userId` may see it, oldest first. The only history call of this API. */
async function historyPage(room: RoomStub, actor: Profile, key: string, before: number | undefined) {
  const query = before === undefined ? { limit: HISTORY_PAGE } : { before, limit: HISTORY_PAGE };
  const outcome = await room.run(actor, { kind: "history", room: key, query });
  if (!outcome.ok) return outcome;
  return {
    ok: true as const,
    value: outcome.value.kind === "history" ? (outcome.value.messages as Message[]) : [],
  };
}

/** The room's newest messages, up to `MAX_ROOM_MESSAGES`, oldest first. */
async function recentMessages(room: RoomStub, actor: Profile, key: string): Promise<Message[]> {
  const pages: Message[][] = [];
  let count = 0;
  let before: number | undefined;
  for (;;) {
    // As for rooms: RPC typing turns `data: unknown` into never; the room returns plain canonical messages.
    const page: Message[] = unwrap(await historyPage(room, actor, key, before));
    pages.unshift(page);
    count += page.length;
    const oldest = page[0];
    if (!oldest || page.length < HISTORY_PAGE || count >= MAX_ROOM_MESSAGES) break;
    before = oldest.seq;
  }
  return pages.flat().slice(-MAX_ROOM_MESSAGES);
}

/** Other users as the room should first know them: their stored profile, else just their id. */
async function newMembers(env: Env, userIds: string[]) {
  return (await profilesOf(env.DB, userIds)).map((profile) => ({ profile, role: "member" as const }));
}

async function validBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const body = await c.req.json().catch(() => refuse("bad_request", "the request body must be JSON"));
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : refuse("bad_request", firstIssue(parsed.error));
}

function validRoomId(c: Context): number {
  const parsed = roomIdParamSchema.safeParse(c.req.param("id"));
  return parsed.success ? parsed.data : refuse("bad_request", firstIssue(parsed.error));
}

// Every ErrorCode's status is a 4xx or 5xx with a body.
const refusal = (c: Context, error: ChatError) =>
  c.json(failure(error), statusOf(error) as ContentfulStatusCode);

const requireSwappartUser = createMiddleware<SwappartEnv>(async (c, next) => {
  const token = tokenFromRequest(c.req.raw);
  if (!token) refuse("unauthorized", "a Supabase access token is required (Authorization: Bearer <token>)");
  const { user } = unwrap(await verifySwappartToken(c.env, token));
  unwrap(await notBanned(c.env.DB, user.id));
  c.set("user", user);
  await next();
});

swappartRoutes.use("/rooms/*", (c, next) => {
  const maxSize = limitsOf(c.env).maxFrameBytes;
  const tooLarge = {
    code: "payload_too_large" as const,
    message: `request body is larger than ${maxSize} bytes`,
  };
  return bodyLimit({ maxSize, onError: (c) => refusal(c, tooLarge) })(c, next);
});
swappartRoutes.use("/rooms/*", requireSwappartUser);

swappartRoutes.post("/rooms", async (c) => {
  const { users, apartment_id } = await validBody(c, createRoomSchema);
  const me = c.var.user;
  const key = newRoomKey();
  const others = [...new Set(users)].filter((id) => id !== me.id);
  // RPC typing turns the room's `metadata` values (unknown) into never; the room returns a plain Room.
  const { room }: { room: Room } = unwrap(
    await roomStub(c.env, key).create({
      key,
      kind: "group",
      metadata: { apartment_id: apartment_id ?? null },
      creator: me,
      members: await newMembers(c.env, others),
    }),
  );
  return c.json(success(room.number));
});

swappartRoutes.get("/rooms", async (c) => {
  const rooms = await allRoomsOf(c.env.DB, c.var.user.id);
  const participants = await participantsOf(
    c.env.DB,
    rooms.map((listed) => listed.room.number),
  );
  return c.json(
    success(rooms.map((listed) => roomEntry(listed, participants.get(listed.room.number) ?? []))),
  );
});

swappartRoutes.put("/rooms", async (c) => {
  const update = await validBody(c, updateParticipantsSchema);
  const me = c.var.user.id;
  const room = await roomNumbered(c.env, update.room_id);
  const { members } = unwrap(await room.view(me));
  const changes = unwrap(participantChanges(members, me, update));
  if (changes.add.length > 0) unwrap(await room.addMembers(me, await newMembers(c.env, changes.add)));
  for (const userId of changes.remove) unwrap(await room.removeMember(me, userId));
  return c.json(success(null));
});

swappartRoutes.delete("/rooms/:id", async (c) => {
  const room = await roomNumbered(c.env, validRoomId(c));
  unwrap(await room.destroy(c.var.user.id));
  return c.json(success(null));
});

swappartRoutes.get("/rooms/:id", async (c) => {
  const me = c.var.user.id;
  const room = await roomNumbered(c.env, validRoomId(c));
  const view: RoomView = unwrap(await room.view(me));
  const messages = await recentMessages(room, c.var.user, view.room.key);
  return c.json(successAndBare(roomDetails(view.room, view.members, messages)));
});

/** Other methods and paths under /rooms get the envelope too, not the API's own error shape. */
swappartRoutes.all("/rooms/*", (c) =>
  refusal(c, { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }),
);

swappartRoutes.onError((error, c) => {
  if (error instanceof ApiError) return refusal(c, error.detail);
  if (error instanceof HTTPException && error.status < 500) {
    return refusal(c, { code: "bad_request", message: error.message || "bad request" });
  }
  console.error(`swappart ${c.req.method} ${c.req.path} failed`, error);
  return refusal(c, { code: "internal", message: "internal error" });
});
