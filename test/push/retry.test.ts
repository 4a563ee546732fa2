import { describe, expect, it } from "vitest";
import {
  BASE_RETRY_DELAY_SECONDS,
  backoffSeconds,
  classifyHttpStatus,
  MAX_BACKOFF_SECONDS,
  MAX_RETRY_DELAY_SECONDS,
  retryAfterSeconds,
  retryDelaySeconds,
} from "../../src/push/retry";

const NOW = Date.parse("2026-01-01T00:00:00Z");

describe("retry delays", () => {
  it("doubles from the base delay with each attempt, up to a cap", () => {
    const base = BASE_RETRY_DELAY_SECONDS;
    expect([1, 2, 3, 4].map(backoffSeconds)).toEqual([base, 2 * base, 4 * base, 8 * base]);
    expect(backoffSeconds(0)).toBe(BASE_RETRY_DELAY_SECONDS);
    expect(backoffSeconds(20)).toBe(MAX_BACKOFF_SECONDS);
    expect(backoffSeconds(10_000)).toBe(MAX_BACKOFF_SECONDS);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterSeconds("120", NOW)).toBe(120);
    expect(retryAfterSeconds(" 7 ", NOW)).toBe(7);
    expect(retryAfterSeconds(new Date(NOW + 90_500).toUTCString(), NOW)).toBe(90);
    expect(retryAfterSeconds(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });

  it("ignores a missing or unreadable Retry-After", () => {
    expect(retryAfterSeconds(null, NOW)).toBeNull();
    expect(retryAfterSeconds("", NOW)).toBeNull();
    expect(retryAfterSeconds("soon", NOW)).toBeNull();
    expect(retryAfterSeconds("-5", NOW)).toBeNull();
  });

  it("honours Retry-After over backoff, within what Queues accepts", () => {
    expect(retryDelaySeconds(1, "600", NOW)).toBe(600);
    expect(retryDelaySeconds(5, "3", NOW)).toBe(3);
    expect(retryDelaySeconds(3, null, NOW)).toBe(backoffSeconds(3));
    expect(retryDelaySeconds(3, "garbage", NOW)).toBe(backoffSeconds(3));
    expect(retryDelaySeconds(1, "0", NOW)).toBe(1);
    expect(retryDelaySeconds(1, "999999", NOW)).toBe(MAX_RETRY_DELAY_SECONDS);
  });
});

describe("HTTP answers", () => {
  it("sorts statuses into sent, retry and rejected", () => {
    expect(classifyHttpStatus(200, "", null)).toEqual({ kind: "sent" });
    expect(classifyHttpStatus(204, "", null)).toEqual({ kind: "sent" });
    expect(classifyHttpStatus(429, "slow down", "30")).toEqual({
      kind: "retry",
      reason: "slow down",
      retryAfter: "30",
    });
    expect(classifyHttpStatus(500, "", null).kind).toBe("retry");
    expect(classifyHttpStatus(503, "", null).kind).toBe("retry");
    expect(classifyHttpStatus(301, "moved", null)).toEqual({ kind: "rejected", reason: "moved" });
    expect(classifyHttpStatus(400, "", null).kind).toBe("rejected");
    expect(classifyHttpStatus(404, "", null).kind).toBe("rejected");
    expect(classifyHttpStatus(410, "", null).kind).toBe("rejected");
  });
});
