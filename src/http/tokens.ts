import { createRoute, type z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { mintChatToken, mintingUnavailable } from "../auth/jwt";
import { requireApiSecret } from "../auth/middleware";
import { type Env, jwtConfigOf } from "../env";
import { API_SECRET_SCHEME, newApi } from "./api";
import { ApiError, errorContent, errorResponses, refuse } from "./errors";
import { tokenBodySchema, tokenResponseSchema } from "./schemas";

/** The WebSocket URLs a client should use, on the origin it reached this API at. */
export function socketUrls(requestUrl: string, room: string | undefined) {
  const url = new URL(requestUrl);
  const base = `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
  const roomSegment = room === undefined ? "{room}" : encodeURIComponent(room);
  return {
    native_user: `${base}/v1/ws`,
    native_room: `${base}/v1/rooms/${roomSegment}/ws`,
    stomp: `${base}/v1/rooms/${roomSegment}/stomp`,
    haraj: `${base}/chat/ws`,
  };
}

async function issue(env: Env, requestUrl: string, body: z.infer<typeof tokenBodySchema>) {
  const unavailable = mintingUnavailable(jwtConfigOf(env));
  if (unavailable)
    throw new ApiError({ code: "internal", message: `token minting is off: ${unavailable}` }, 503);
  const minted = await mintChatToken(jwtConfigOf(env), body);
  return { ...minted, user_id: body.user_id, urls: socketUrls(requestUrl, body.room) };
}

const requireDevMode = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  if (c.env.DEV_MODE !== "true") refuse("not_found", `no route for ${c.req.method} ${c.req.path}`);
  await next();
});

const tokenRequest = {
  body: { required: true, content: { "application/json": { schema: tokenBodySchema } } },
};

const tokenResponses = {
  200: {
    description: "A chat token and the socket URLs",
    content: { "application/json": { schema: tokenResponseSchema } },
  },
};

const mintRoute = createRoute({
  method: "post",
  path: "/v1/tokens",
  tags: ["tokens"],
  summary: "Mint a chat token (server-to-server)",
  description:
    "Called by an application backend with the API secret. Answers 503 when API_SECRET is unset or when " +
    "tokens come from an identity provider (JWT_JWKS_URL).",
  middleware: requireApiSecret,
  security: [{ [API_SECRET_SCHEME]: [] }],
  request: tokenRequest,
  responses: {
    ...tokenResponses,
    ...errorResponses("bad_request", "unauthorized", "payload_too_large"),
    503: { description: "Minting is not configured on this deployment", content: errorContent },
  },
});

const devMintRoute = createRoute({
  method: "post",
  path: "/v1/dev/tokens",
  tags: ["tokens"],
  summary: "Mint a chat token without the API secret (DEV_MODE only)",
  description: 'Exists only when DEV_MODE is "true" (local development); 404 otherwise.',
  middleware: requireDevMode,
  request: tokenRequest,
  responses: { ...tokenResponses, ...errorResponses("bad_request", "not_found", "payload_too_large") },
});

export const tokenRoutes = newApi()
  .openapi(mintRoute, async (c) => c.json(await issue(c.env, c.req.url, c.req.valid("json")), 200))
  .openapi(devMintRoute, async (c) => c.json(await issue(c.env, c.req.url, c.req.valid("json")), 200));
