import { env } from "cloudflare:test";
import { type JWTPayload, SignJWT } from "jose";

/**
 * An HS256 chat token for `userId`, signed with the dev secret (env.JWT_SECRET from .dev.vars), valid for an hour.
 * `claims` adds or overrides claims: `{ name, avatar }`, or `{ exp }` / `{ nbf }` in epoch seconds to test expiry.
 */
export async function tokenFor(userId: string, claims: JWTPayload = {}): Promise<string> {
  const secret = env.JWT_SECRET;
  if (!secret) throw new Error("JWT_SECRET is missing from the test environment (.dev.vars)");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** Request headers carrying a chat token, plus a JSON content type. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, "content-type": "application/json" };
}
