import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_EMOJI_LENGTH, normalizeEmoji } from "../../src/domain/emoji";

describe("reaction emoji", () => {
  it.each([
    ["👍", "👍"],
    ["👍🏽", "👍🏽"],
    ["🇫🇷", "🇫🇷"],
    ["1️⃣", "1️⃣"],
    ["👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"],
    ["❤️", "❤️"],
    // The text form of a pictograph is the same reaction as its emoji form.
    ["❤", "❤️"],
    [":thumbsup:", ":thumbsup:"],
    [":+1:", ":+1:"],
    [":Party_Parrot:", ":party_parrot:"],
    [`:${"a".repeat(32)}:`, `:${"a".repeat(32)}:`],
  ])("accepts %s as %s", (raw, key) => {
    expect(normalizeEmoji(raw)).toBe(key);
  });

  it.each([
    "",
    "a",
    "1",
    "👍👍",
    "👍 ",
    "hello",
    "::",
    ":a b:",
    ":a:b:",
    `:${"a".repeat(33)}:`,
    ":émoji:",
    "\uFE0F",
    "<script>",
  ])("refuses %j", (raw) => {
    expect(normalizeEmoji(raw)).toBeNull();
  });

  it("never throws and only yields short keys that normalize to themselves", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" })),
        (raw) => {
          const key = normalizeEmoji(raw);
          if (key === null) return;
          expect(key.length).toBeLessThanOrEqual(MAX_EMOJI_LENGTH);
          expect(normalizeEmoji(key)).toBe(key);
        },
      ),
    );
  });
});
