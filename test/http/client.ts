import { createExecutionContext, env } from "cloudflare:test";
import { createApp } from "../../src/http/app";

const app = createApp();

export interface CallOptions {
  method?: string;
  /** A chat token sent as `Authorization: Bearer`. */
  token?: string;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** A modified copy of the test environment, for configuration-dependent behaviour. */
  env?: typeof env;
  origin?: string;
}

export interface CallResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON response fields
  body: any;
  headers: Headers;
}

/** Calls the HTTP API in-process with the test bindings and returns the status and the parsed JSON body. */
export async function call(path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const request = new Request(`${options.origin ?? "https://parley.test"}${path}`, {
    method: options.method ?? "GET",
    headers,
    body,
  });
  const response = await app.fetch(request, options.env ?? env, createExecutionContext());
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

/** The error code of an error response; throws when the body is not the `{"error": {code, message}}` shape. */
export function errorCode(result: CallResult): string {
  const error = result.body?.error;
  if (!error || typeof error.code !== "string" || typeof error.message !== "string") {
    throw new Error(`not the error shape (status ${result.status}): ${JSON.stringify(result.body)}`);
  }
  return error.code;
}

/** A fresh id, since D1 and Durable Object storage are shared by every test of a file. */
export const uniqueId = (prefix: string): string => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
