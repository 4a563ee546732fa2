import { createRoute, z } from "@hono/zod-openapi";
import { totalUnreadOf } from "../storage/room-index";
import {
  findUser,
  listDevices,
  registerDevice,
  removeDevice,
  setPushEnabled,
  upsertProfile,
} from "../storage/users";
import { jsonBody, jsonResponse, newApi, optionalJsonBody, withChatToken } from "./api";
import { errorResponses, refuse } from "./errors";
import {
  deviceBodySchema,
  deviceParamsSchema,
  deviceSchema,
  meSchema,
  profileBodySchema,
  settingsBodySchema,
  userSchema,
} from "./schemas";

/** The caller's own profile, push switch, push devices and total unread count. */

const getMe = createRoute({
  method: "get",
  path: "/v1/me",
  tags: ["me"],
  summary: "My profile and my total unread count",
  description:
    "The stored profile, or the token's claims with default settings when none is stored yet; `total_unread` " +
    "sums the unread counts of my rooms.",
  ...withChatToken,
  responses: { 200: jsonResponse(meSchema, "My profile"), ...errorResponses("unauthorized") },
});

const putMe = createRoute({
  method: "put",
  path: "/v1/me",
  tags: ["me"],
  summary: "Store my profile",
  description:
    "Upserts my profile from the token's `name` and `avatar` claims; body fields, when given, win.",
  ...withChatToken,
  request: { body: optionalJsonBody(profileBodySchema) },
  responses: {
    200: jsonResponse(userSchema, "The stored profile"),
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
  },
});

const patchSettings = createRoute({
  method: "patch",
  path: "/v1/me/settings",
  tags: ["me"],
  summary: "Change my settings",
  ...withChatToken,
  request: { body: jsonBody(settingsBodySchema) },
  responses: {
    200: jsonResponse(userSchema, "My profile with the new settings"),
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
  },
});

const postDevice = createRoute({
  method: "post",
  path: "/v1/me/devices",
  tags: ["me"],
  summary: "Register a push device",
  description: "A token registered before, by anyone, now belongs to me only.",
  ...withChatToken,
  request: { body: jsonBody(deviceBodySchema) },
  responses: {
    200: jsonResponse(deviceSchema, "The registered device"),
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
  },
});

const getDevices = createRoute({
  method: "get",
  path: "/v1/me/devices",
  tags: ["me"],
  summary: "My push devices",
  ...withChatToken,
  responses: {
    200: jsonResponse(z.object({ devices: z.array(deviceSchema) }).openapi("Devices"), "My devices"),
    ...errorResponses("unauthorized"),
  },
});

const deleteDevice = createRoute({
  method: "delete",
  path: "/v1/me/devices/{token}",
  tags: ["me"],
  summary: "Unregister a push device",
  ...withChatToken,
  request: { params: deviceParamsSchema },
  responses: {
    204: { description: "Removed" },
    ...errorResponses("bad_request", "unauthorized", "not_found"),
  },
});

export const meRoutes = newApi()
  .openapi(getMe, async (c) => {
    const user = c.var.user;
    const [stored, total_unread] = await Promise.all([
      findUser(c.env.DB, user.id),
      totalUnreadOf(c.env.DB, user.id),
    ]);
    const profile = stored ?? { ...user, push_enabled: true, created_at: null, updated_at: null };
    return c.json({ ...profile, total_unread }, 200);
  })
  .openapi(putMe, async (c) => {
    const user = c.var.user;
    const body = c.req.valid("json");
    const profile = {
      id: user.id,
      name: body.name === undefined ? user.name : body.name,
      avatar: body.avatar === undefined ? user.avatar : body.avatar,
    };
    return c.json(await upsertProfile(c.env.DB, profile), 200);
  })
  .openapi(patchSettings, async (c) => {
    const { push_enabled } = c.req.valid("json");
    return c.json(await setPushEnabled(c.env.DB, c.var.user, push_enabled), 200);
  })
  .openapi(postDevice, async (c) => {
    const { platform, token } = c.req.valid("json");
    return c.json(await registerDevice(c.env.DB, c.var.user.id, platform, token), 200);
  })
  .openapi(getDevices, async (c) => c.json({ devices: await listDevices(c.env.DB, c.var.user.id) }, 200))
  .openapi(deleteDevice, async (c) => {
    const { token } = c.req.valid("param");
    if (!(await removeDevice(c.env.DB, c.var.user.id, token))) refuse("not_found", "no such device of mine");
    return c.body(null, 204);
  });
