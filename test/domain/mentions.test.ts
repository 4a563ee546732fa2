import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractMentions, MAX_MENTIONS, mentionCount, mentions } from "../../src/domain/mentions";
import { message } from "./fixtures";

const members = new Set(["ann", "bob", "bob.smith", "cy", "dee-2", "all"]);
const context = (canMentionRoom = false) => ({
  senderId: "ann",
  isMember: (id: string) => members.has(id),
  canMentionRoom,
});
const of = (text: string, extra: { data?: unknown; to?: string | null } = {}, canMentionRoom = false) =>
  extractMentions({ text, ...extra }, context(canMentionRoom));

describe("mentions at send time", () => {
  it("finds @id mentions of members, in order, once each", () => {
    expect(of("@cy hi @bob, and @cy again")).toEqual({ mentions: ["cy", "bob"], mentions_room: false });
  });

  it("takes the longest member id that ends where a mention may end", () => {
    expect(of("ping @bob.smith please").mentions).toEqual(["bob.smith"]);
    expect(of("ping @bob. ok").mentions).toEqual(["bob"]);
    expect(of("@dee-2!").mentions).toEqual(["dee-2"]);
  });

  it("ignores non-members, the sender, e-mail addresses and ids running into word characters", () => {
    expect(of("@zed @ann mail bob@bob @bobby @cy_x @@cy").mentions).toEqual([]);
  });

  it("adds members listed in data.mentions, ignoring other values", () => {
    expect(of("hi", { data: { mentions: ["bob", 7, "zed", "cy", null] } }).mentions).toEqual(["bob", "cy"]);
    expect(of("hi", { data: { mentions: "bob" } }).mentions).toEqual([]);
  });

  it("@room and @all reach everyone only from a moderator; from anyone else they are text", () => {
    expect(of("@room meeting", {}, true)).toEqual({ mentions: [], mentions_room: true });
    expect(of("hey @all!", {}, true).mentions_room).toBe(true);
    expect(of("@room meeting", {}, false)).toEqual({ mentions: [], mentions_room: false });
    expect(of("@roomy @alligator", {}, true).mentions_room).toBe(false);
  });

  it("reserves room and all: a user with such an id is mentioned through data.mentions", () => {
    expect(of("@all").mentions).toEqual([]);
    expect(of("x", { data: { mentions: ["all"] } }).mentions).toEqual(["all"]);
  });

  it("a whisper mentions at most its recipient and never the room", () => {
    expect(of("@bob @cy @room", { to: "cy" }, true)).toEqual({ mentions: ["cy"], mentions_room: false });
  });

  it(`keeps at most ${MAX_MENTIONS} users`, () => {
    const many = Array.from({ length: 80 }, (_, i) => `u${i}`);
    const result = extractMentions(
      { text: many.map((id) => `@${id}`).join(" ") },
      { senderId: "ann", isMember: () => true, canMentionRoom: false },
    );
    expect(result.mentions).toHaveLength(MAX_MENTIONS);
    expect(result.mentions[0]).toBe("u0");
  });

  it("never throws and only returns members other than the sender", () => {
    fc.assert(
      fc.property(fc.string(), fc.anything(), (text, data) => {
        const result = of(text, { data });
        for (const id of result.mentions) {
          expect(members.has(id)).toBe(true);
          expect(id).not.toBe("ann");
        }
      }),
    );
  });
});

describe("mentions on a stored message", () => {
  it("is true for listed users and for everyone on @room", () => {
    expect(mentions(message({ mentions: ["bob"] }), "bob")).toBe(true);
    expect(mentions(message({ mentions: ["bob"] }), "cy")).toBe(false);
    expect(mentions(message({ mentions_room: true }), "cy")).toBe(true);
  });

  it("counts mentions above the read marker, apart from unread", () => {
    expect(mentionCount(5, [2, 5, 6, 9])).toBe(2);
    expect(mentionCount(0, [])).toBe(0);
  });
});
