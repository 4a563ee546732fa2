import { describe, expect, it } from "vitest";
import {
  canDeleteMessage,
  canEditMessage,
  canMentionRoom,
  canPinMessage,
  canPinRoom,
  canReadEditHistory,
  canWatchPresence,
  presencePolicyOf,
} from "../../src/domain/permissions";
import { admin, member, message, nobody, owner, room, user, viewer } from "./fixtures";

describe("lifecycle permissions", () => {
  const mine = message({ sender: user("ann") });

  it("only the author edits, moderators included", () => {
    expect(canEditMessage("ann", mine)).toBe(true);
    expect(canEditMessage("bob", mine)).toBe(false);
  });

  it("the author, an owner or an admin deletes", () => {
    expect(canDeleteMessage(member, "ann", mine)).toBe(true);
    expect(canDeleteMessage(owner, "bob", mine)).toBe(true);
    expect(canDeleteMessage(admin, "bob", mine)).toBe(true);
    expect(canDeleteMessage(member, "bob", mine)).toBe(false);
    expect(canDeleteMessage(viewer, "bob", mine)).toBe(false);
  });

  it("moderators pin messages; in a direct room either member does", () => {
    expect(canPinMessage(room(), owner)).toBe(true);
    expect(canPinMessage(room(), admin)).toBe(true);
    expect(canPinMessage(room(), member)).toBe(false);
    expect(canPinMessage(room({ kind: "direct" }), member)).toBe(true);
    expect(canPinMessage(room({ kind: "direct" }), nobody)).toBe(false);
  });

  it("members pin the room in their own list; viewers have no list entry", () => {
    expect(canPinRoom(member)).toBe(true);
    expect(canPinRoom(viewer)).toBe(false);
    expect(canPinRoom(nobody)).toBe(false);
  });

  it("@room is for moderators of group and live rooms", () => {
    expect(canMentionRoom(room(), admin)).toBe(true);
    expect(canMentionRoom(room({ kind: "live" }), owner)).toBe(true);
    expect(canMentionRoom(room(), member)).toBe(false);
    expect(canMentionRoom(room({ kind: "direct" }), owner)).toBe(false);
  });

  it("moderators read the edit history", () => {
    expect(canReadEditHistory(admin)).toBe(true);
    expect(canReadEditHistory(member)).toBe(false);
  });
});

describe("presence policy", () => {
  it("needs the peer's consent by default, only a shared direct room under seed 001's rule, never oneself", () => {
    const peer = { sharesDirectRoom: true, consented: false, self: false };
    expect(presencePolicyOf(undefined)).toBe("consent");
    expect(canWatchPresence("consent", peer)).toBe(false);
    expect(canWatchPresence("consent", { ...peer, consented: true })).toBe(true);
    expect(canWatchPresence("direct_room", peer)).toBe(true);
    expect(canWatchPresence("direct_room", { ...peer, sharesDirectRoom: false })).toBe(false);
    expect(canWatchPresence("consent", { ...peer, consented: true, self: true })).toBe(false);
  });
});
