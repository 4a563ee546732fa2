import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { fail, type Outcome, ok } from "../domain/errors";
import type { Profile } from "../domain/model";
import { firstIssue, userIdSchema } from "../domain/validation";

/**
 * Chat tokens: JWTs whose `sub` is the user id, with optional `name` and `avatar` claims. Nothing here knows
 * about HTTP frameworks, so the Durable Objects verify first-frame tokens with the same code as the Worker.
 */

export interface Identity {
  user: Profile;
  /** The token's `exp`, in seconds since the epoch. */
  expiresAt: number;
}

/** Tolerated clock difference between the token issuer and this Worker when checking `exp` and `nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** A shared secret only ever verifies HS256, a key set only RS256/ES256, so neither can stand in for the other. */
const SECRET_ALGORITHMS = ["HS256"];
const KEY_SET_ALGORITHMS = ["RS256", "ES256"];

export const displayNameSchema = z.string().max(128);
export const avatarUrlSchema = z.string().max(2048);

const claimsSchema = z.object({
  sub: userIdSchema,
  name: displayNameSchema.nullish(),
  avatar: avatarUrlSchema.nullish(),
  exp: z.number(),
});

/** One remote key set per URL for the isolate's lifetime, so jose's key cache and cooldown survive requests. */
const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function remoteKeySet(url: string): JWTVerifyGetKey {
  let keySet = remoteKeySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url));
    remoteKeySets.set(url, keySet);
  }
  return keySet;
}

const encodeSecret = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** Failures that say nothing about the token itself: the key set could not be fetched or read. */
function isKeySetUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    error.code === errors.JOSEError.code
  );
}

/** How chat tokens are verified and minted: a shared HS256 secret, or a remote key set; optional iss/aud. */
export interface JwtConfig {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Lifetime (and cap) of minted tokens, in seconds. */
  ttlSeconds: number;
}

export async function verifyChatToken(config: JwtConfig, token: string): Promise<Outcome<Identity>> {
  const options = {
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["exp", "sub"],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  let payload: JWTPayload;
  try {
    if (config.jwksUrl) {
      ({ payload } = await jwtVerify(token, remoteKeySet(config.jwksUrl), {
        ...options,
        algorithms: KEY_SET_ALGORITHMS,
      }));
    } else if (config.secret) {
      ({ payload } = await jwtVerify(token, encodeSecret(config.secret), {
        ...options,
        algorithms: SECRET_ALGORITHMS,
      }));
    } else {
      return fail("internal", "token verification is not configured (set JWT_SECRET or JWT_JWKS_URL)");
    }
  } catch (error) {
    if (error instanceof errors.JWTExpired) return fail("token_expired", "token has expired");
    if (error instanceof errors.JWTClaimValidationFailed)
      return fail("invalid_token", `token ${error.message}`);
    if (config.jwksUrl && isKeySetUnavailable(error)) {
      return fail("internal", "the signing key set could not be fetched");
    }
    return fail("invalid_token", "token signature or format is invalid");
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) return fail("invalid_token", `token claim ${firstIssue(claims.error)}`);
  const { sub, name, avatar, exp } = claims.data;
  return ok({ user: { id: sub, name: name ?? null, avatar: avatar ?? null }, expiresAt: exp });
}

/** The credential of an `Authorization: Bearer <credential>` header, or null. */
export function bearerCredential(req: Request): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? null;
}

/** The token a request carries: `Authorization: Bearer <token>` first, then the `token` query parameter. */
export function tokenFromRequest(req: Request): string | null {
  return bearerCredential(req) ?? (new URL(req.url).searchParams.get("token") || null);
}

export interface MintRequest {
  user_id: string;
  name?: string | null;
  avatar?: string | null;
  /** Requested lifetime in seconds; never more than TOKEN_TTL_SECONDS. */
  ttl?: number;
}

export interface MintedToken {
  token: string;
  /** ISO 8601. */
  expires_at: string;
}

/**
 * Why this deployment cannot mint tokens, or null when it can. With a JWKS URL the identity provider issues
 * tokens, and an HS256 token minted here would be refused by `verifyChatToken`.
 */
export function mintingUnavailable(config: JwtConfig): string | null {
  if (config.jwksUrl) return "tokens are issued by the identity provider at JWT_JWKS_URL";
  if (!config.secret) return "JWT_SECRET is not configured";
  return null;
}

export async function mintChatToken(config: JwtConfig, request: MintRequest): Promise<MintedToken> {
  const secret = config.jwksUrl ? undefined : config.secret;
  if (!secret) throw new Error(`cannot mint chat tokens: ${mintingUnavailable(config)}`);
  const now = Math.floor(Date.now() / 1000);
  const ttl = Math.min(request.ttl ?? Number.POSITIVE_INFINITY, config.ttlSeconds);
  const expiresAt = now + ttl;
  const jwt = new SignJWT({
    ...(request.name ? { name: request.name } : {}),
    ...(request.avatar ? { avatar: request.avatar } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.user_id)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt);
  if (config.issuer) jwt.setIssuer(config.issuer);
  if (config.audience) jwt.setAudience(config.audience);
  return {
    token: await jwt.sign(encodeSecret(secret)),
    expires_at: new Date(expiresAt * 1000).toISOString(),
  };
}
