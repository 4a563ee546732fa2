import { OpenAPIHono } from "@hono/zod-openapi";
import { requireUser } from "../auth/middleware";
import { firstIssue } from "../domain/validation";
import type { Env } from "../env";
import { errorResponse } from "./errors";

/** A sub-app of API v1 whose validation failures answer 400 in the error shape. */
export function newApi() {
  return new OpenAPIHono<{ Bindings: Env }>({
    defaultHook: (result) => {
      if (!result.success) return errorResponse({ code: "bad_request", message: firstIssue(result.error) });
    },
  });
}

export const CHAT_TOKEN_SCHEME = "chatToken";
export const CHAT_TOKEN_QUERY_SCHEME = "chatTokenQuery";
export const API_SECRET_SCHEME = "apiSecret";

/** Spread into `createRoute` for routes that need a chat token: it enforces and documents the requirement. */
export const withChatToken = {
  middleware: requireUser,
  security: [{ [CHAT_TOKEN_SCHEME]: [] }, { [CHAT_TOKEN_QUERY_SCHEME]: [] }] as Record<string, string[]>[],
};

/** An OpenAPI response entry with a JSON body. */
export const jsonResponse = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A required JSON request body. */
export const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

/** An optional JSON request body: absent (no Content-Type), it validates as `{}`. */
export const optionalJsonBody = <T>(schema: T) => ({ content: { "application/json": { schema } } });
