import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EPHEMERAL_SUFFIX_BASE, stompEphemeralId, stompMessageId } from "../../src/dialects/stomp/ids";

/** The largest signed 64-bit integer: Gossip SDKs may parse `message_id` as a long. */
const LONG_MAX = 9223372036854775807n;

const times = fc
  .integer({ min: Date.parse("2001-09-10T00:00:00Z"), max: Date.parse("2262-01-01T00:00:00Z") })
  .map((ms) => new Date(ms).toISOString());

describe("STOMP message ids", () => {
  it("is the seed's shape: 19 digits, a long", () => {
    fc.assert(
      fc.property(times, fc.nat(), fc.nat(), (at, seq, counter) => {
        for (const id of [stompMessageId(at, seq), stompEphemeralId(at, counter)]) {
          expect(id).toMatch(/^\d{19}$/);
          expect(BigInt(id) <= LONG_MAX).toBe(true);
        }
      }),
    );
  });

  it("derives a message's id from its creation time and seq: unique per room, the same every time", () => {
    expect(stompMessageId("2023-03-25T23:18:22.000Z", 1)).toBe("1679786302000000001");
    expect(stompMessageId("2023-03-25T23:18:22.000Z", 1)).toBe(stompMessageId("2023-03-25T23:18:22.000Z", 1));
    fc.assert(
      fc.property(
        times,
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: EPHEMERAL_SUFFIX_BASE - 1 }),
        (at, seq, gap) => {
          // Two messages of one room in one millisecond differ in seq by less than 500000.
          expect(stompMessageId(at, seq)).not.toBe(stompMessageId(at, seq + gap));
        },
      ),
    );
    expect(stompMessageId("2023-03-25T23:18:22.000Z", 7)).not.toBe(
      stompMessageId("2023-03-25T23:18:22.001Z", 7),
    );
  });

  it("keeps JOIN/LEAVE ids apart from message ids", () => {
    fc.assert(
      fc.property(times, fc.nat(), fc.nat(), (at, seq, counter) => {
        expect(stompEphemeralId(at, counter)).not.toBe(stompMessageId(at, seq));
      }),
    );
  });
});
