import { describe, expect, it } from "vitest";
import {
  AUTH_GRACE_MS,
  sessionTimers,
  type TimerInput,
  TOKEN_EXPIRY_GRACE_MS,
} from "../../src/sessions/timers";

const base: TimerInput = {
  now: 100_000,
  connectedAt: 100_000,
  authenticated: true,
  expiresAt: null,
  lastActiveAt: 100_000,
  idleLimitMs: null,
  heartbeatMs: null,
  lastBeatAt: 100_000,
};

describe("session timers", () => {
  it("closes an unauthenticated socket with 4001 after the grace, and says when otherwise", () => {
    expect(sessionTimers({ ...base, authenticated: false })).toMatchObject({
      close: null,
      nextAt: base.connectedAt + AUTH_GRACE_MS,
    });
    expect(
      sessionTimers({ ...base, authenticated: false, now: base.connectedAt + AUTH_GRACE_MS }).close,
    ).toEqual({
      code: 4001,
      reason: "authentication timed out",
    });
  });

  it("closes with 4002 once the token expired and the grace passed without a refresh", () => {
    const expiresAt = base.now + 1_000;
    expect(sessionTimers({ ...base, expiresAt }).nextAt).toBe(expiresAt + TOKEN_EXPIRY_GRACE_MS);
    expect(
      sessionTimers({ ...base, expiresAt, now: expiresAt + TOKEN_EXPIRY_GRACE_MS - 1 }).close,
    ).toBeNull();
    expect(sessionTimers({ ...base, expiresAt, now: expiresAt + TOKEN_EXPIRY_GRACE_MS }).close?.code).toBe(
      4002,
    );
  });

  it("closes a silent session with 4003 after its dialect's idle limit", () => {
    const input = { ...base, idleLimitMs: 90_000 };
    expect(sessionTimers(input).nextAt).toBe(base.lastActiveAt + 90_000);
    expect(sessionTimers({ ...input, now: base.lastActiveAt + 90_000 }).close?.code).toBe(4003);
  });

  it("beats every interval and asks to be woken for the next beat", () => {
    const input = { ...base, heartbeatMs: 3_000 };
    expect(sessionTimers(input)).toEqual({ close: null, beat: false, nextAt: base.lastBeatAt + 3_000 });
    expect(sessionTimers({ ...input, now: base.lastBeatAt + 3_000 })).toEqual({
      close: null,
      beat: true,
      nextAt: base.lastBeatAt + 6_000,
    });
  });

  it("has nothing to wake for when the session has no timers", () => {
    expect(sessionTimers(base)).toEqual({ close: null, beat: false, nextAt: null });
  });
});
