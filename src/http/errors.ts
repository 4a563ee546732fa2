import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ChatError, type ErrorCode, HTTP_STATUS, type Outcome } from "../domain/errors";

/** The one error shape of the HTTP API: `{"error": {"code", "message"}}` with the status of its code. */

const ERROR_CODES = Object.keys(HTTP_STATUS) as [ErrorCode, ...ErrorCode[]];

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      retry_after: z
        .number()
        .int()
        .optional()
        .openapi({ description: "Seconds to wait (rate_limited only)" }),
    }),
  })
  .openapi("Error");

/** A refusal raised inside a handler; `renderError` turns it into the error shape. */
export class ApiError extends Error {
  constructor(
    readonly detail: ChatError,
    readonly status: number = HTTP_STATUS[detail.code],
  ) {
    super(detail.message);
  }
}

export function refuse(code: ErrorCode, message: string): never {
  throw new ApiError({ code, message });
}

/**
 * The value of a successful outcome; a refusal becomes the error response. Generic over the whole outcome so
 * the value type survives the RPC wrapping of Durable Object results.
 */
export function unwrap<O extends Outcome<unknown>>(outcome: O): Extract<O, { ok: true }>["value"] {
  if (!outcome.ok) throw new ApiError(outcome.error);
  return outcome.value;
}

export function errorResponse(detail: ChatError, status: number = HTTP_STATUS[detail.code]): Response {
  return Response.json({ error: detail }, { status });
}

/** Framework exceptions (malformed JSON, a body that is not JSON) in the same shape. */
function fromHttpException(error: HTTPException): ChatError | null {
  if (error.status === 415) {
    return { code: "bad_request", message: "request body must be JSON (Content-Type: application/json)" };
  }
  return error.status < 500 ? { code: "bad_request", message: error.message || "bad request" } : null;
}

export function renderError(error: unknown, c: Context): Response {
  if (error instanceof ApiError) return errorResponse(error.detail, error.status);
  const refusal = error instanceof HTTPException ? fromHttpException(error) : null;
  if (refusal) return errorResponse(refusal);
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed`, error);
  return errorResponse({ code: "internal", message: "internal error" });
}

export const errorContent = { "application/json": { schema: errorBodySchema } };

/** OpenAPI response entries for the statuses of the error codes a route can answer with. */
export function errorResponses(...codes: ErrorCode[]) {
  const responses: Record<number, { description: string; content: typeof errorContent }> = {};
  for (const code of codes) {
    const status = HTTP_STATUS[code];
    const sameStatus = ERROR_CODES.filter((other) => HTTP_STATUS[other] === status);
    responses[status] = { description: `Error: ${sameStatus.join(", ")}`, content: errorContent };
  }
  return responses;
}
