import { createRoute } from "@hono/zod-openapi";
import type { Outcome } from "../domain/errors";
import type { Room } from "../domain/model";
import type { Env } from "../env";
import { roomStub } from "../rooms/stubs";
import { searchMessages } from "../storage/search";
import { jsonResponse, newApi, withChatToken } from "./api";
import { errorResponses, unwrap } from "./errors";
import { resolveRoomKey } from "./rooms";
import { searchQuerySchema, searchResultSchema } from "./schemas";

/** Full-text search over the messages of the rooms I can read (D1 FTS5, kept in step with edits and deletes). */

const search = createRoute({
  method: "get",
  path: "/v1/search",
  tags: ["messages"],
  summary: "Search the messages of the rooms I can read",
  description:
    "Rooms I am a member of and public live rooms; whispers between others, deleted and command messages are " +
    "never found. Results trail the rooms by one flush to D1.",
  ...withChatToken,
  request: { query: searchQuerySchema },
  responses: {
    200: jsonResponse(searchResultSchema, "A page of matching messages"),
    ...errorResponses("bad_request", "unauthorized", "forbidden", "not_found"),
  },
});

/** The number of the room `ref` names, when `userId` may read it; the room's own refusal otherwise. */
async function readableRoomNumber(env: Env, ref: string, userId: string): Promise<number> {
  // RPC typing turns the room's `metadata: unknown` values into never; the room returns a plain Room.
  const access = (await roomStub(env, await resolveRoomKey(env, ref)).access(userId)) as Outcome<{
    room: Room;
  }>;
  return unwrap(access).room.number;
}

export const searchRoutes = newApi().openapi(search, async (c) => {
  const { q, room: ref, limit, cursor, order } = c.req.valid("query");
  const me = c.var.user.id;
  // A named room is checked by the room itself, so a room I cannot read is refused rather than found empty.
  const room = ref === undefined ? undefined : await readableRoomNumber(c.env, ref, me);
  const page = await searchMessages(c.env.DB, me, { text: q, order, limit, room, cursor });
  return c.json({ messages: page.messages, next_cursor: page.next }, 200);
});
