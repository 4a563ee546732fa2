/** Machine-readable error codes shared by the HTTP API, the RPC surface of both objects and every dialect. */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "invalid_token"
  | "token_expired"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  /** The host's content policy refused the message before storage (hate speech, misinformation). */
  | "content_refused"
  | "internal";

export interface ChatError {
  code: ErrorCode;
  message: string;
  /** Seconds until a rate-limited request may be retried. */
  retry_after?: number;
  /**
   * For `content_refused`: whether the policy wants the session ended for it. Absent, each dialect does what
   * its protocol documents (Swappart closes with 4011; dialects without such a close only refuse the send).
   */
  close?: boolean;
}

/**
 * The result of every call that can be refused. Durable Object RPC rethrows errors with their message only,
 * so refusals travel as values and exceptions are left to real failures.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ChatError };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

export function fail(code: ErrorCode, message: string, retryAfter?: number): { ok: false; error: ChatError } {
  return {
    ok: false,
    error: retryAfter === undefined ? { code, message } : { code, message, retry_after: retryAfter },
  };
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  invalid_token: 401,
  token_expired: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  content_refused: 422,
  internal: 500,
};
