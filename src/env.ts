import type { JwtConfig } from "./auth/jwt";
import type { PushJob } from "./push/jobs";

/**
 * Bindings and variables declared in wrangler.toml and .dev.vars. The object namespaces are typed where they are
 * used (`rooms/stubs.ts`), so nothing that reads configuration depends on the Durable Object classes.
 */
export interface Env {
  ROOMS: DurableObjectNamespace;
  USERS: DurableObjectNamespace;
  DB: D1Database;
  PUSH_QUEUE: Queue<PushJob>;
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  API_SECRET?: string;
  DEV_MODE?: string;
  TOKEN_TTL_SECONDS?: string;
  MAX_FRAME_BYTES?: string;
  MAX_MESSAGE_CHARS?: string;
  RATE_PER_SECOND?: string;
  RATE_BURST?: string;
  STOMP_APP_IDS?: string;
  FCM_BASE_URL?: string;
  FCM_PROJECT_ID?: string;
  FCM_SERVICE_ACCOUNT?: string;
  WEBHOOK_URLS?: string;
  WEBHOOK_SECRET?: string;
  /** "1": count Durable Object requests for the load harness (`src/dev-stats.ts`); never set in production. */
  DEV_STATS?: string;
}

/** The validated, typed view of the variables that tune behaviour. */
export interface Limits {
  maxFrameBytes: number;
  maxMessageChars: number;
  ratePerSecond: number;
  rateBurst: number;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

export function limitsOf(env: Env): Limits {
  return {
    maxFrameBytes: positiveInt(env.MAX_FRAME_BYTES, 65536),
    maxMessageChars: positiveInt(env.MAX_MESSAGE_CHARS, 8000),
    ratePerSecond: positiveInt(env.RATE_PER_SECOND, 10),
    rateBurst: positiveInt(env.RATE_BURST, 30),
  };
}

export function jwtConfigOf(env: Env): JwtConfig {
  return {
    ...(env.JWT_SECRET ? { secret: env.JWT_SECRET } : {}),
    ...(env.JWT_JWKS_URL ? { jwksUrl: env.JWT_JWKS_URL } : {}),
    ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
    ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
    ttlSeconds: positiveInt(env.TOKEN_TTL_SECONDS, 3600),
  };
}

export function listVar(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
