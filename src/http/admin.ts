import { createRoute, z } from "@hono/zod-openapi";
import { requireApiSecret } from "../auth/middleware";
import { replayDeadLetters } from "../push/consumer";
import { API_SECRET_SCHEME, newApi } from "./api";
import { errorResponses } from "./errors";

const replayRoute = createRoute({
  method: "post",
  path: "/v1/admin/push/dead-letters/replay",
  tags: ["admin"],
  summary: "Put dead-lettered push and webhook jobs back on the push queue",
  description:
    "Oldest first, at most `limit` (default 50). Each job keeps its job id, so a device or endpoint that already " +
    "received it is not sent it again.",
  middleware: requireApiSecret,
  security: [{ [API_SECRET_SCHEME]: [] }],
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }) },
  responses: {
    200: {
      description: "How many jobs were replayed",
      content: { "application/json": { schema: z.object({ replayed: z.number().int() }) } },
    },
    ...errorResponses("bad_request", "unauthorized"),
  },
});

export const adminRoutes = newApi().openapi(replayRoute, async (c) =>
  c.json({ replayed: await replayDeadLetters(c.env, c.req.valid("query").limit) }, 200),
);
