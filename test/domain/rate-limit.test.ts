import { describe, expect, it } from "vitest";
import { takeToken } from "../../src/domain/rate-limit";

describe("the send token bucket", () => {
  it("allows a burst, then refuses with the seconds until a token is back", () => {
    let bucket: ReturnType<typeof takeToken>["bucket"] | undefined;
    for (let i = 0; i < 3; i++) {
      const decision = takeToken(bucket, 0, 1, 3);
      expect(decision.allowed).toBe(true);
      bucket = decision.bucket;
    }
    const refused = takeToken(bucket, 0, 1, 3);
    expect(refused).toMatchObject({ allowed: false, retryAfter: 1 });
    expect(takeToken(refused.bucket, 1_000, 1, 3).allowed).toBe(true);
  });

  it("never holds more than the burst however long it rested", () => {
    const rested = takeToken({ tokens: 0, at: 0 }, 3_600_000, 10, 5);
    expect(rested.bucket.tokens).toBe(4);
  });
});
