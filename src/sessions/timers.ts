import type { Close } from "../dialects/codec";
import { CloseCode } from "../domain/close-codes";

/** Unauthenticated sockets must authenticate within this time. */
export const AUTH_GRACE_MS = 15_000;
/** A session whose token expired is closed (4002) unless it refreshes within this time. */
export const TOKEN_EXPIRY_GRACE_MS = 30_000;

/** What the sweep knows of one session. */
export interface TimerInput {
  now: number;
  connectedAt: number;
  authenticated: boolean;
  /** When the session's token expires, or null. */
  expiresAt: number | null;
  /** The last frame or keepalive from the client. */
  lastActiveAt: number;
  /** The dialect's idle limit, or null when it has no client keepalive. */
  idleLimitMs: number | null;
  /** The dialect's server heartbeat interval, or null; and when the last beat went out. */
  heartbeatMs: number | null;
  lastBeatAt: number;
}

/** The sweep's decision for one session: close it, beat now, and when it next needs a look. */
export interface TimerDecision {
  close: Close | null;
  beat: boolean;
  /** The next time a timer of this session falls due, or null when it has none. */
  nextAt: number | null;
}

/**
 * The timers every hosted session has, as one pure decision: the auth grace for an unauthenticated socket,
 * the token's expiry plus grace, the dialect's idle limit, and its server heartbeat.
 */
export function sessionTimers(s: TimerInput): TimerDecision {
  const due: number[] = [];
  const closing = (code: number, reason: string): TimerDecision => ({
    close: { code, reason },
    beat: false,
    nextAt: null,
  });
  if (!s.authenticated) {
    const deadline = s.connectedAt + AUTH_GRACE_MS;
    if (s.now >= deadline) return closing(CloseCode.NoAuthToken, "authentication timed out");
    due.push(deadline);
  } else if (s.expiresAt !== null) {
    const deadline = s.expiresAt + TOKEN_EXPIRY_GRACE_MS;
    if (s.now >= deadline) return closing(CloseCode.InvalidToken, "token expired");
    due.push(deadline);
  }
  if (s.idleLimitMs !== null) {
    const deadline = s.lastActiveAt + s.idleLimitMs;
    if (s.now >= deadline) return closing(CloseCode.Afk, "no keepalive");
    due.push(deadline);
  }
  let beat = false;
  if (s.heartbeatMs !== null) {
    const beatDue = s.lastBeatAt + s.heartbeatMs;
    beat = s.now >= beatDue;
    due.push(beat ? s.now + s.heartbeatMs : beatDue);
  }
  return { close: null, beat, nextAt: due.length > 0 ? Math.min(...due) : null };
}
