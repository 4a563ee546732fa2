// Zod schemas built before @hono/zod-openapi loads lack `.openapi()`, and http/schemas.ts extends ones from
// domain/validation.ts: load it before any module that builds schemas (the Swappart routes sort first).
import "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { devStats, devStatsEnabled } from "../dev-stats";
import { swappartRoutes } from "../dialects/swappart/http";
import { limitsOf } from "../env";
import { adminRoutes } from "./admin";
import { API_SECRET_SCHEME, CHAT_TOKEN_QUERY_SCHEME, CHAT_TOKEN_SCHEME, newApi } from "./api";
import { errorResponse, refuse, renderError } from "./errors";
import { harajRoutes } from "./haraj";
import { meRoutes } from "./me";
import { messageRoutes } from "./messages";
import { notificationRoutes } from "./notifications";
import { roomRoutes } from "./rooms";
import { searchRoutes } from "./search";
import { socketRoutes } from "./sockets";
import { tokenRoutes } from "./tokens";

export function createApp() {
  const app = newApi();

  // The Haraj routes (`/chat/*`) refuse oversize bodies themselves, with a Haraj packet.
  app.use("/v1/*", (c, next) => {
    const maxSize = limitsOf(c.env).maxFrameBytes;
    return bodyLimit({
      maxSize,
      onError: () => refuse("payload_too_large", `request body is larger than ${maxSize} bytes`),
    })(c, next);
  });

  app.get("/health", (c) => c.json({ ok: true }));
  // The load harness's request counts; only where DEV_STATS is "1" (never in production).
  app.get("/v1/dev/stats", (c) =>
    devStatsEnabled(c.env)
      ? c.json(devStats())
      : errorResponse({ code: "not_found", message: "no route for GET /v1/dev/stats" }, 404),
  );
  app.route("/", tokenRoutes);
  app.route("/", meRoutes);
  app.route("/", roomRoutes);
  app.route("/", messageRoutes);
  app.route("/", notificationRoutes);
  app.route("/", searchRoutes);
  app.route("/", socketRoutes);
  app.route("/", harajRoutes);
  app.route("/", swappartRoutes);
  app.route("/", adminRoutes);
  // `/` runs the Worker first (wrangler.toml) because Swappart's socket lives there; every request that is not
  // an upgrade gets the web client, as the assets would serve it.
  app.on(["GET", "HEAD"], "/", (c) => c.env.ASSETS.fetch(c.req.raw));
  app.all("/", (c) =>
    errorResponse(
      { code: "bad_request", message: `${c.req.method} / is not allowed; GET / is the web client` },
      405,
    ),
  );

  app.openAPIRegistry.registerComponent("securitySchemes", CHAT_TOKEN_SCHEME, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Chat token: HS256 with JWT_SECRET, or RS256/ES256 from JWT_JWKS_URL; `sub` is the user id",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", CHAT_TOKEN_QUERY_SCHEME, {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "The chat token in the query string, for clients that cannot set headers",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", API_SECRET_SCHEME, {
    type: "http",
    scheme: "bearer",
    description: "API_SECRET, for application backends minting chat tokens",
  });
  app.doc31("/v1/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Parley HTTP API",
      version: "1",
      description:
        'Errors always have the shape {"error": {"code", "message"}}. A room id in a path is the room key or ' +
        "its numeric id.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));

  app.notFound((c) =>
    errorResponse({ code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }),
  );
  app.onError(renderError);
  return app;
}
