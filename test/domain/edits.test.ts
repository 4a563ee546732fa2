import { describe, expect, it } from "vitest";
import { DEFAULT_EDIT_WINDOW_SECONDS, editWindowSeconds, planDelete, planEdit } from "../../src/domain/edits";
import { admin, member, message, owner, T0, user } from "./fixtures";

const rules = { maxMessageChars: 20, editWindowSeconds: 60 };
const original = message({
  sender: user("ann"),
  text: "helo",
  data: { a: 1 },
  reactions: [{ emoji: "👍", count: 1, users: [user("bob")] }],
  pinned_at: new Date(T0).toISOString(),
  mentions: ["bob"],
  thread: { replies_count: 1, participants_count: 2, participants_preview: [], last_reply_at: null },
});

describe("EDIT_WINDOW_SECONDS", () => {
  it("reads whole non-negative seconds, 0 meaning no limit; anything else is the default", () => {
    expect(editWindowSeconds("600")).toBe(600);
    expect(editWindowSeconds("0")).toBe(0);
    for (const raw of [undefined, "", " ", "-5", "1.5", "soon"])
      expect(editWindowSeconds(raw)).toBe(DEFAULT_EDIT_WINDOW_SECONDS);
  });
});

describe("edit", () => {
  it("gives the author's edit the new text, edited_at and the next version, and keeps the rest", () => {
    const plan = planEdit(original, "ann", { text: "hello" }, rules, T0 + 5_000);
    expect(plan).toMatchObject({ ok: true, value: { changed: true, previous: original } });
    if (!plan.ok) return;
    expect(plan.value.message).toEqual({
      ...original,
      text: "hello",
      edited_at: new Date(T0 + 5_000).toISOString(),
      version: 2,
    });
  });

  it("replaces data when the edit carries it (null included) and keeps it when absent", () => {
    const withData = planEdit(original, "ann", { text: "helo", data: { a: 2 } }, rules, T0);
    expect(withData.ok && withData.value.message.data).toEqual({ a: 2 });
    const cleared = planEdit(original, "ann", { text: "helo", data: null }, rules, T0);
    expect(cleared.ok && cleared.value.message.data).toBeNull();
  });

  it("an edit that changes nothing is an ok no-op", () => {
    expect(planEdit(original, "ann", { text: "helo", data: { a: 1 } }, rules, T0)).toEqual({
      ok: true,
      value: { changed: false, message: original, previous: original },
    });
  });

  it("refuses other users, moderators included", () => {
    expect(planEdit(original, "bob", { text: "x" }, rules, T0)).toMatchObject({
      error: { code: "forbidden" },
    });
  });

  it("refuses edits after the window, and allows any age when the window is 0", () => {
    expect(planEdit(original, "ann", { text: "late" }, rules, T0 + 60_001)).toMatchObject({
      error: { code: "forbidden" },
    });
    expect(planEdit(original, "ann", { text: "on time" }, rules, T0 + 60_000).ok).toBe(true);
    expect(
      planEdit(original, "ann", { text: "late" }, { ...rules, editWindowSeconds: 0 }, T0 + 9e12).ok,
    ).toBe(true);
  });

  it("refuses deleted, missing and hidden messages as not found", () => {
    const tombstone = { ...original, deleted_at: new Date(T0).toISOString() };
    expect(planEdit(tombstone, "ann", { text: "x" }, rules, T0)).toMatchObject({
      error: { code: "not_found" },
    });
    expect(planEdit(null, "ann", { text: "x" }, rules, T0)).toMatchObject({ error: { code: "not_found" } });
    const whisper = message({ sender: user("bob"), to: "cy" });
    expect(planEdit(whisper, "ann", { text: "x" }, rules, T0)).toMatchObject({
      error: { code: "not_found" },
    });
  });

  it("refuses text over the limit as payload_too_large and empty text as bad_request", () => {
    expect(planEdit(original, "ann", { text: "x".repeat(21) }, rules, T0)).toMatchObject({
      error: { code: "payload_too_large" },
    });
    expect(planEdit(original, "ann", { text: "  ", data: null }, rules, T0)).toMatchObject({
      error: { code: "bad_request" },
    });
    // Empty text with data is a valid message, as when sending.
    expect(planEdit(original, "ann", { text: "" }, rules, T0).ok).toBe(true);
  });
});

describe("delete", () => {
  it("turns the author's message into a tombstone that keeps its place, author and thread", () => {
    const plan = planDelete(original, member, "ann", T0 + 1000);
    expect(plan).toMatchObject({ ok: true, value: { changed: true } });
    if (!plan.ok) return;
    expect(plan.value.message).toEqual({
      ...original,
      text: "",
      data: null,
      deleted_at: new Date(T0 + 1000).toISOString(),
      reactions: [],
      pinned_at: null,
      mentions: [],
      mentions_room: false,
    });
  });

  it("lets owners and admins delete others' messages, and nobody else", () => {
    expect(planDelete(original, owner, "bob", T0).ok).toBe(true);
    expect(planDelete(original, admin, "bob", T0).ok).toBe(true);
    expect(planDelete(original, member, "bob", T0)).toMatchObject({ error: { code: "forbidden" } });
  });

  it("deleting a tombstone again is an ok no-op; missing and hidden messages are not found", () => {
    const tombstone = { ...original, deleted_at: new Date(T0).toISOString() };
    expect(planDelete(tombstone, member, "ann", T0)).toEqual({
      ok: true,
      value: { changed: false, message: tombstone },
    });
    expect(planDelete(null, owner, "ann", T0)).toMatchObject({ error: { code: "not_found" } });
    const whisper = message({ sender: user("bob"), to: "cy" });
    expect(planDelete(whisper, owner, "ann", T0)).toMatchObject({ error: { code: "not_found" } });
  });
});
