import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recover } from "../../src/domain/positions";

const head = { seq: 40, epoch: "e1" };

describe("recovery from a resume point", () => {
  it("replays what came after a position of the same epoch", () => {
    expect(recover({ seq: 35, epoch: "e1" }, head, 100)).toEqual({ kind: "replay", after: 35 });
    expect(recover({ seq: 0, epoch: null }, head, 100)).toEqual({ kind: "replay", after: 0 });
  });

  it("is caught up at the head", () => {
    expect(recover({ seq: 40, epoch: "e1" }, head, 100)).toEqual({ kind: "caught_up" });
  });

  it("asks for a reload when the room was re-created, the position is ahead, or the gap is too large", () => {
    expect(recover({ seq: 3, epoch: "e0" }, head, 100)).toMatchObject({ kind: "reload" });
    // A re-created room restarts at seq 1: an old position beyond its head is not "caught up".
    expect(recover({ seq: 90, epoch: null }, head, 100)).toMatchObject({ kind: "reload" });
    expect(recover({ seq: 1, epoch: "e1" }, { seq: 500, epoch: "e1" }, 100)).toMatchObject({
      kind: "reload",
    });
  });

  it("never replays from another epoch nor past the head", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.option(fc.constantFrom("e1", "e2"), { nil: null }),
        fc.nat(10_000),
        (seq, epoch, headSeq) => {
          const decision = recover({ seq, epoch }, { seq: headSeq, epoch: "e1" }, 1_000);
          if (decision.kind === "replay") {
            expect(epoch === null || epoch === "e1").toBe(true);
            expect(decision.after).toBeLessThan(headSeq);
            expect(headSeq - decision.after).toBeLessThanOrEqual(1_000);
          }
        },
      ),
      { seed: 10, numRuns: 500 },
    );
  });
});
