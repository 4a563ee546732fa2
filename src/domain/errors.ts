import { CloseCode } from "./close-codes";

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
export type Refusal = { ok: false; error: ChatError };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

export function fail(code: ErrorCode, message: string, retryAfter?: number): Refusal {
  return {
    ok: false,
    error: retryAfter === undefined ? { code, message } : { code, message, retry_after: retryAfter },
  };
}

/** The refusals the core raises, named once so each reads the same wherever it is given. */
export const refuse = {
  badRequest: (message: string) => fail("bad_request", message),
  unauthenticated: () => fail("unauthorized", "authenticate first"),
  forbidden: (message = "not a member of this room") => fail("forbidden", message),
  roomNotFound: () => fail("not_found", "room not found"),
  messageNotFound: () => fail("not_found", "message not found"),
  notFound: (message: string) => fail("not_found", message),
  conflict: (message: string) => fail("conflict", message),
  tooLarge: (message: string) => fail("payload_too_large", message),
  rateLimited: (retryAfter: number) => fail("rate_limited", "sending too fast", retryAfter),
  contentRefused: (message: string) => fail("content_refused", message),
  internal: () => fail("internal", "internal error"),
};

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

/** The close a refusal means for a socket that must end because of it (an auth failure, a policy refusal). */
export const CLOSE_CODE: Record<ErrorCode, CloseCode> = {
  bad_request: CloseCode.BadMessageStructure,
  unauthorized: CloseCode.NoAuthToken,
  invalid_token: CloseCode.InvalidToken,
  token_expired: CloseCode.InvalidToken,
  forbidden: CloseCode.UnauthorizedAction,
  not_found: CloseCode.UnauthorizedAction,
  conflict: CloseCode.BadMessageStructure,
  payload_too_large: CloseCode.BadMessageStructure,
  rate_limited: CloseCode.UnauthorizedAction,
  content_refused: CloseCode.HatefulSpeech,
  internal: CloseCode.ServerError,
};

/** WebSocket close reasons are limited to 123 UTF-8 bytes; longer ones make `close` throw. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** `reason` cut to fit a close frame, on a character boundary. */
export function closeReason(reason: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = "";
  let bytes = 0;
  for (const char of reason) {
    const size = encoder.encode(char).byteLength;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    cut += char;
    bytes += size;
  }
  return cut;
}

/** The close that ends a socket because of `error`. */
export const closeFor = (error: ChatError) => ({
  code: CLOSE_CODE[error.code],
  reason: closeReason(error.message),
});
