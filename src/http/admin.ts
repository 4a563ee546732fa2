import { createRoute, z } from "@hono/zod-openapi";
import { requireApiSecret } from "../auth/middleware";
import type { Close } from "../dialects/codec";
import { CloseCode } from "../domain/close-codes";
import type { Env } from "../env";
import { replayDeadLetters } from "../push/consumer";
import { roomStub, userStub } from "../rooms/stubs";
import { banMessage, banUser, unbanUser } from "../storage/bans";
import { roomKeysOf } from "../storage/user-rows";
import { API_SECRET_SCHEME, jsonBody, jsonResponse, newApi } from "./api";
import { errorResponses, refuse } from "./errors";
import { memberParamsSchema } from "./schemas";

const asAdmin = { middleware: requireApiSecret, security: [{ [API_SECRET_SCHEME]: [] }] };

const replayRoute = createRoute({
  method: "post",
  path: "/v1/admin/push/dead-letters/replay",
  tags: ["admin"],
  summary: "Put dead-lettered push and webhook jobs back on the push queue",
  description:
    "Oldest first, at most `limit` (default 50). Each job keeps its job id, so a device or endpoint that already " +
    "received it is not sent it again.",
  ...asAdmin,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }) },
  responses: {
    200: jsonResponse(z.object({ replayed: z.number().int() }), "How many jobs were replayed"),
    ...errorResponses("bad_request", "unauthorized"),
  },
});

/** Why an operator ends a user's sessions, and the close each reason is (the 4001–4012 codes of seed 002). */
export const DISCONNECT_REASONS = {
  user: { code: CloseCode.Afk, reason: "User has been asked to be disconnected" },
  admin: { code: CloseCode.AdminAction, reason: "User got disconnected because an admin decided" },
  shutdown: { code: CloseCode.ServerShutdown, reason: "Server is shutting down" },
  other: { code: CloseCode.ConnectionClosed, reason: "Connection closed" },
} satisfies Record<string, Close>;

type DisconnectReason = keyof typeof DISCONNECT_REASONS;

const userParam = memberParamsSchema.pick({ user: true });
const closedSchema = z.object({
  closed: z.number().int().openapi({ description: "Sockets closed (user sockets and room sockets)" }),
});

/**
 * Closes every socket of the user: those their user object hosts, and their room sockets in each room they
 * belong to (one call per room: an operator's action, not a hot path). Each socket gets its dialect's parting
 * frame first (a Swappart `Disconnection`).
 */
async function disconnectEverywhere(env: Env, userId: string, close: Close): Promise<number> {
  const rooms = await roomKeysOf(env.DB, userId);
  const closed = await Promise.allSettled([
    userStub(env, userId).disconnect(close),
    ...rooms.map((key) => roomStub(env, key).disconnect(userId, close)),
  ]);
  return closed.reduce((sum, result) => sum + (result.status === "fulfilled" ? result.value : 0), 0);
}

const disconnectRoute = createRoute({
  method: "post",
  path: "/v1/admin/users/{user}/disconnect",
  tags: ["admin"],
  summary: "Close every socket of a user",
  description:
    "`reason` picks the close code: `user` 4003 (the user asked to be disconnected), `admin` 4004 (default), " +
    "`shutdown` 4007 (draining before maintenance), `other` 4009. The user may reconnect at once.",
  ...asAdmin,
  request: {
    params: userParam,
    body: jsonBody(
      z.object({ reason: z.enum(Object.keys(DISCONNECT_REASONS) as [DisconnectReason]).default("admin") }),
    ),
  },
  responses: {
    200: jsonResponse(closedSchema, "The user's sockets were closed"),
    ...errorResponses("bad_request", "unauthorized"),
  },
});

const banSchema = z
  .object({ user_id: z.string(), reason: z.string(), banned_at: z.string() })
  .openapi("ServiceBan");

const banRoute = createRoute({
  method: "post",
  path: "/v1/admin/users/{user}/ban",
  tags: ["admin"],
  summary: "Ban a user from the whole service",
  description:
    "Next to each room's own bans: the user's tokens are then refused at every upgrade (close 4005), first-frame " +
    "auth and HTTP request (403), and their open sockets are closed with 4005. Banning again updates the reason.",
  ...asAdmin,
  request: {
    params: userParam,
    body: jsonBody(
      z.object({ reason: z.string().trim().min(1).max(500).default("banned by an administrator") }),
    ),
  },
  responses: {
    200: jsonResponse(banSchema.extend(closedSchema.shape), "The ban, and the sockets closed"),
    ...errorResponses("bad_request", "unauthorized"),
  },
});

const unbanRoute = createRoute({
  method: "delete",
  path: "/v1/admin/users/{user}/ban",
  tags: ["admin"],
  summary: "Lift a user's service-wide ban",
  ...asAdmin,
  request: { params: userParam },
  responses: {
    204: { description: "The ban was lifted" },
    ...errorResponses("unauthorized", "not_found"),
  },
});

export const adminRoutes = newApi()
  .openapi(replayRoute, async (c) =>
    c.json({ replayed: await replayDeadLetters(c.env, c.req.valid("query").limit) }, 200),
  )
  .openapi(disconnectRoute, async (c) => {
    const { user } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    return c.json({ closed: await disconnectEverywhere(c.env, user, DISCONNECT_REASONS[reason]) }, 200);
  })
  .openapi(banRoute, async (c) => {
    const { user } = c.req.valid("param");
    const ban = await banUser(c.env.DB, user, c.req.valid("json").reason);
    const closed = await disconnectEverywhere(c.env, user, {
      code: CloseCode.Banned,
      reason: banMessage(ban),
    });
    return c.json({ ...ban, closed }, 200);
  })
  .openapi(unbanRoute, async (c) => {
    const { user } = c.req.valid("param");
    if (!(await unbanUser(c.env.DB, user))) refuse("not_found", `${user} is not banned`);
    return c.body(null, 204);
  });
