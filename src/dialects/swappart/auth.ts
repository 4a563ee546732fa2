import { type Identity, type JwtConfig, verifyChatToken } from "../../auth/jwt";
import { fail, type Outcome } from "../../domain/errors";
import { type Env, jwtConfigOf } from "../../env";
import { supabaseUserIdSchema } from "./requests";

/**
 * Swappart clients present their Supabase access token, on the HTTP API and on the socket. Supabase signs it
 * with the project's JWT secret (HS256) or its asymmetric signing keys (JWKS), for the audience
 * `authenticated`, with the user's UUID as `sub`.
 */

/**
 * Worker variables for a deployment whose Swappart users sign in with Supabase: the project's legacy JWT secret
 * (a secret: `wrangler secret put`); its key set `https://<project>.supabase.co/auth/v1/.well-known/jwks.json`,
 * preferred over the secret when both are set; and `https://<project>.supabase.co/auth/v1`, which tokens must
 * then carry as `iss`.
 */
export type SupabaseVars = Pick<Env, "SUPABASE_JWT_SECRET" | "SUPABASE_JWKS_URL" | "SUPABASE_JWT_ISSUER">;

export const SUPABASE_AUDIENCE = "authenticated";

export interface SupabaseAuthConfig {
  secret: string | null;
  jwksUrl: string | null;
  issuer: string | null;
  audience: typeof SUPABASE_AUDIENCE;
}

const setting = (raw: string | undefined): string | null => raw?.trim() || null;

/** The Supabase settings, or null when none are set and the deployment's own JWT settings apply. */
export function supabaseAuthConfig(vars: SupabaseVars): SupabaseAuthConfig | null {
  const secret = setting(vars.SUPABASE_JWT_SECRET);
  const jwksUrl = setting(vars.SUPABASE_JWKS_URL);
  if (!secret && !jwksUrl) return null;
  return { secret, jwksUrl, issuer: setting(vars.SUPABASE_JWT_ISSUER), audience: SUPABASE_AUDIENCE };
}

/** The environment the shared verifier reads, its JWT settings replaced by Supabase's when those are set. */
function verifierEnv(env: Env): JwtConfig {
  const config = supabaseAuthConfig(env);
  const base = jwtConfigOf(env);
  if (!config) return base;
  return {
    ttlSeconds: base.ttlSeconds,
    ...(config.secret ? { secret: config.secret } : {}),
    ...(config.jwksUrl ? { jwksUrl: config.jwksUrl } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
    audience: config.audience,
  };
}

/** A Swappart user's identity from their access token: a verified token whose subject is a UUID. */
export async function verifySwappartToken(env: Env, token: string): Promise<Outcome<Identity>> {
  const identity = await verifyChatToken(verifierEnv(env), token);
  if (!identity.ok) return identity;
  if (!supabaseUserIdSchema.safeParse(identity.value.user.id).success) {
    return fail("invalid_token", "token subject is not a Supabase user id (a UUID)");
  }
  return identity;
}
