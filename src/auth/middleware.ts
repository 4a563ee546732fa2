import { createMiddleware } from "hono/factory";
import type { Profile } from "../domain/model";
import { type Env, jwtConfigOf } from "../env";
import { ApiError, refuse, unwrap } from "../http/errors";
import { notBanned } from "../storage/bans";
import { bearerCredential, tokenFromRequest, verifyChatToken } from "./jwt";

type AuthedEnv = { Bindings: Env; Variables: { user: Profile } };

/** Admits requests carrying a valid chat token and sets `c.var.user`; others get 401 in the error shape. */
export const requireUser = createMiddleware<AuthedEnv>(async (c, next) => {
  const token = tokenFromRequest(c.req.raw);
  if (!token) refuse("unauthorized", "a chat token is required (Authorization: Bearer <token>)");
  const identity = unwrap(await verifyChatToken(jwtConfigOf(c.env), token));
  unwrap(await notBanned(c.env.DB, identity.user.id));
  c.set("user", identity.user);
  await next();
});

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/**
 * Admits server-to-server calls carrying `Authorization: Bearer <API_SECRET>`. Both sides are hashed first so
 * the constant-time comparison also hides the secret's length.
 */
export const requireApiSecret = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const secret = c.env.API_SECRET;
  if (!secret) throw new ApiError({ code: "internal", message: "API_SECRET is not configured" }, 503);
  const presented = bearerCredential(c.req.raw);
  if (!presented) refuse("unauthorized", "the API secret is required (Authorization: Bearer <API_SECRET>)");
  const [expected, given] = await Promise.all([sha256(secret), sha256(presented)]);
  if (!crypto.subtle.timingSafeEqual(expected, given)) refuse("unauthorized", "the API secret is wrong");
  await next();
});
