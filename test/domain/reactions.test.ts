import { describe, expect, it } from "vitest";
import { REACTOR_PREVIEW } from "../../src/domain/model";
import {
  exceedsEmojiLimit,
  MAX_EMOJI_PER_MESSAGE,
  planReaction,
  summarizeReactions,
} from "../../src/domain/reactions";
import { message, T0, user } from "./fixtures";

describe("reactions", () => {
  it("names the message and the canonical emoji", () => {
    const m = message();
    expect(planReaction(m, "bob", "❤")).toEqual({ ok: true, value: { message: m, emoji: "❤️" } });
    expect(planReaction(m, "bob", ":Tada:")).toMatchObject({ value: { emoji: ":tada:" } });
  });

  it("refuses bad emoji, then deleted, missing and hidden messages", () => {
    expect(planReaction(message(), "bob", "lol")).toMatchObject({ error: { code: "bad_request" } });
    const tombstone = message({ deleted_at: new Date(T0).toISOString() });
    expect(planReaction(tombstone, "bob", "👍")).toMatchObject({ error: { code: "not_found" } });
    expect(planReaction(null, "bob", "👍")).toMatchObject({ error: { code: "not_found" } });
    expect(planReaction(message({ to: "cy" }), "bob", "👍")).toMatchObject({ error: { code: "not_found" } });
    expect(planReaction(message({ to: "bob" }), "bob", "👍").ok).toBe(true);
  });

  it(`allows ${MAX_EMOJI_PER_MESSAGE} distinct emoji per message; existing ones always`, () => {
    const present = Array.from({ length: MAX_EMOJI_PER_MESSAGE }, (_, i) => `:e${i}:`);
    expect(exceedsEmojiLimit(present, ":new:")).toBe(true);
    expect(exceedsEmojiLimit(present, ":e3:")).toBe(false);
    expect(exceedsEmojiLimit(present.slice(1), ":new:")).toBe(false);
  });

  it("summarizes by first reaction, counting all and previewing the first reactors", () => {
    const reactors = Array.from({ length: REACTOR_PREVIEW + 2 }, (_, i) => ({
      emoji: "👍",
      user: user(`u${i}`),
    }));
    const summary = summarizeReactions([
      { emoji: "🎉", user: user("ann") },
      ...reactors,
      { emoji: "🎉", user: user("u0") },
    ]);
    expect(summary).toEqual([
      { emoji: "🎉", count: 2, users: [user("ann"), user("u0")] },
      {
        emoji: "👍",
        count: REACTOR_PREVIEW + 2,
        users: reactors.slice(0, REACTOR_PREVIEW).map((r) => r.user),
      },
    ]);
  });
});
