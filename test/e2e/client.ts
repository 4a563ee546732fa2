import { SignJWT } from "jose";
import { inject } from "vitest";

/** The dev secret from .dev.vars, which `wrangler dev` uses: local clients sign their own tokens with it. */
export const DEV_SECRET = "parley-dev-secret-not-for-production";

export const baseUrl = (): string => inject("baseUrl");
export const wsUrl = (path: string): string => `${baseUrl().replace(/^http/, "ws")}${path}`;

export async function devToken(userId: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(DEV_SECRET));
}

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A unique suffix, so runs never collide on room keys or user ids. */
export const unique = (): string => Math.random().toString(36).slice(2, 8);
