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
  MAX_SOCKET_BACKLOG_BYTES?: string;
  MAX_SOCKETS_PER_USER?: string;
  MAX_ROOM_MEMBERS?: string;
  RATE_PER_SECOND?: string;
  RATE_BURST?: string;
  EDIT_WINDOW_SECONDS?: string;
  HOT_EVENTS?: string;
  STOMP_APP_IDS?: string;
  PRESENCE_POLICY?: string;
  SOCKET_ORIGINS?: string;
  FCM_BASE_URL?: string;
  FCM_PROJECT_ID?: string;
  FCM_SERVICE_ACCOUNT?: string;
  WEBHOOK_URLS?: string;
  WEBHOOK_SECRET?: string;
  PUSH_COLLAPSE_WINDOW_SECONDS?: string;
  /** Supabase access tokens (Swappart): the project's JWT secret, or its key set; and the issuer to require. */
  SUPABASE_JWT_SECRET?: string;
  SUPABASE_JWKS_URL?: string;
  SUPABASE_JWT_ISSUER?: string;
  /** Comma-separated dialects whose users keep one socket: a new one closes the older ones (4008). */
  SINGLE_DEVICE_DIALECTS?: string;
  /** The content policy run before a message is stored (`src/rooms/moderation.ts`). */
  CONTENT_BLOCKED_WORDS?: string;
  MODERATION_WEBHOOK_URL?: string;
  MODERATION_WEBHOOK_SECRET?: string;
  MODERATION_TIMEOUT_MS?: string;
  /** `open` stores a message the webhook could not judge in time; `closed` refuses it. */
  MODERATION_FAILURE?: string;
  /** The web client's static files (wrangler.toml `[assets]`), served at `/` for requests that are not upgrades. */
  ASSETS: Fetcher;
  /** "1": count Durable Object requests for the load harness (`src/dev-stats.ts`); never set in production. */
  DEV_STATS?: string;
}

/** The validated, typed view of the variables that tune behaviour. */
export interface Limits {
  maxFrameBytes: number;
  /** Bytes a socket may have queued unsent before it is closed as too slow (it resumes later with `since`). */
  maxBacklogBytes: number;
  maxMessageChars: number;
  ratePerSecond: number;
  rateBurst: number;
  /** How many recent events a room keeps in its own log once they are in D1; older ones resume from D1. */
  hotEvents: number;
  /** Sockets one user may hold open at once, over every device and dialect; more are closed with 4009. */
  maxSocketsPerUser: number;
  /** Members a room may have; adding past it is refused. */
  maxRoomMembers: number;
}

/** The default hot window: resume replays at most this many events from the room's own log. */
export const HOT_EVENTS = 5000;

export function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

export function limitsOf(env: Env): Limits {
  return {
    maxFrameBytes: positiveInt(env.MAX_FRAME_BYTES, 65536),
    maxBacklogBytes: positiveInt(env.MAX_SOCKET_BACKLOG_BYTES, 1_048_576),
    maxMessageChars: positiveInt(env.MAX_MESSAGE_CHARS, 8000),
    ratePerSecond: positiveInt(env.RATE_PER_SECOND, 10),
    rateBurst: positiveInt(env.RATE_BURST, 30),
    hotEvents: positiveInt(env.HOT_EVENTS, HOT_EVENTS),
    maxSocketsPerUser: positiveInt(env.MAX_SOCKETS_PER_USER, 100),
    maxRoomMembers: positiveInt(env.MAX_ROOM_MEMBERS, 10_000),
  };
}

/** How long message pushes of one room collapse into one (ms); 0, the default, pushes every message. */
export function pushCollapseWindowMs(env: Env): number {
  return positiveInt(env.PUSH_COLLAPSE_WINDOW_SECONDS, 0) * 1000;
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
