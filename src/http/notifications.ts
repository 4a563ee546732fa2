import { createRoute } from "@hono/zod-openapi";
import type { Command } from "../domain/commands";
import { userStub } from "../rooms/stubs";
import { jsonResponse, newApi, optionalJsonBody, withChatToken } from "./api";
import { errorResponses, unwrap } from "./errors";
import {
  notificationsQuerySchema,
  notificationsReadBodySchema,
  notificationsSchema,
  unreadNotificationsSchema,
} from "./schemas";

/** My notification feed, kept by my user object: read through its feed RPC, changed through its user commands. */

const listNotifications = createRoute({
  method: "get",
  path: "/v1/me/notifications",
  tags: ["me"],
  summary: "My notification feed, newest first",
  description:
    "Mentions, replies in my threads, direct messages and being added to a room, with the unread count.",
  ...withChatToken,
  request: { query: notificationsQuerySchema },
  responses: {
    200: jsonResponse(notificationsSchema, "A page of my feed"),
    ...errorResponses("bad_request", "unauthorized"),
  },
});

const markRead = createRoute({
  method: "post",
  path: "/v1/me/notifications/read",
  tags: ["me"],
  summary: "Mark one notification read, or all of them",
  ...withChatToken,
  request: { body: optionalJsonBody(notificationsReadBodySchema) },
  responses: {
    200: jsonResponse(unreadNotificationsSchema, "The unread count after the change"),
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
  },
});

export const notificationRoutes = newApi()
  .openapi(listNotifications, async (c) => {
    const { limit, before } = c.req.valid("query");
    const me = c.var.user.id;
    // One more than asked tells whether another page follows (the feed answers up to 100 entries a call).
    const feed = await userStub(c.env, me).notifications(me, limit + 1, before ?? null);
    const page = feed.notifications.slice(0, limit);
    const next = feed.notifications.length > limit ? (page.at(-1)?.id ?? null) : null;
    return c.json({ notifications: page, unread: feed.unread, next_before: next }, 200);
  })
  .openapi(markRead, async (c) => {
    const user = c.var.user;
    const command: Command = { kind: "notifications_read", id: c.req.valid("json").id ?? null };
    const result = unwrap(await userStub(c.env, user.id).userCommand(user, command));
    if (result.kind !== "notifications_read") throw new Error(`notifications_read answered ${result.kind}`);
    return c.json({ unread: result.unread }, 200);
  });
