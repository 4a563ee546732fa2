import { describe, expect, it } from "vitest";
import { blockedPhraseIn, parseBlockedWords, parseVerdict } from "../../src/domain/content-policy";

describe("the built-in word list", () => {
  const blocked = parseBlockedWords(" Spam , buy now,,  ");

  it("parses comma-separated words and phrases, dropping empty entries", () => {
    expect(blocked).toEqual([["spam"], ["buy", "now"]]);
    expect(parseBlockedWords(undefined)).toEqual([]);
  });

  it("matches whole words and phrases, whatever the case, width or punctuation", () => {
    expect(blockedPhraseIn("this is SPAM!", blocked)).toBe("spam");
    expect(blockedPhraseIn("ｓｐａｍ", blocked)).toBe("spam");
    expect(blockedPhraseIn("Buy. NOW", blocked)).toBe("buy now");
    expect(blockedPhraseIn("a spammer", blocked)).toBeNull();
    expect(blockedPhraseIn("buy it now", blocked)).toBeNull();
    expect(blockedPhraseIn("anything", [])).toBeNull();
  });
});

describe("a moderation webhook's answer", () => {
  it("is a verdict only when `allowed` is a boolean; a refusal ends the session unless it says not to", () => {
    expect(parseVerdict({ allowed: true })).toEqual({ allowed: true });
    expect(parseVerdict({ allowed: false })).toEqual({
      allowed: false,
      reason: "refused by moderation",
      close: true,
    });
    expect(parseVerdict({ allowed: false, reason: " fake listing ", close: false })).toEqual({
      allowed: false,
      reason: "fake listing",
      close: false,
    });
    for (const other of [null, "yes", [], { allowed: "false" }, {}]) expect(parseVerdict(other)).toBeNull();
  });
});
