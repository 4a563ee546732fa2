import { describe, expect, it } from "vitest";
import { THREAD_PREVIEW } from "../../src/domain/model";
import { checkReplyRoot, summarizeThread } from "../../src/domain/threads";
import { message, T0, user } from "./fixtures";

describe("reply roots", () => {
  const root = message({ id: "root", seq: 1 });

  it("accepts a visible, standing, top-level message", () => {
    expect(checkReplyRoot(root, {}, "bob")).toEqual({ ok: true, value: root });
  });

  it("refuses a missing, hidden or deleted root as not found", () => {
    expect(checkReplyRoot(null, {}, "bob")).toMatchObject({ error: { code: "not_found" } });
    const whisper = message({ to: "cy" });
    expect(checkReplyRoot(whisper, {}, "bob")).toMatchObject({ error: { code: "not_found" } });
    const tombstone = message({ deleted_at: new Date(T0).toISOString() });
    expect(checkReplyRoot(tombstone, {}, "bob")).toMatchObject({ error: { code: "not_found" } });
  });

  it("refuses a reply as root, a whisper as root and a whisper as reply", () => {
    const reply = message({ parent_id: "root" });
    expect(checkReplyRoot(reply, {}, "bob")).toMatchObject({ error: { code: "bad_request" } });
    const whisperToMe = message({ to: "bob" });
    expect(checkReplyRoot(whisperToMe, {}, "bob")).toMatchObject({ error: { code: "bad_request" } });
    expect(checkReplyRoot(root, { to: "ann" }, "bob")).toMatchObject({ error: { code: "bad_request" } });
  });
});

describe("thread summaries", () => {
  const replier = (id: string, first: number, replies: number, last = `2026-01-01T00:00:0${first}.000Z`) => ({
    user: user(id),
    first_reply_seq: first,
    last_reply_at: last,
    replies,
  });

  it("is null without standing replies", () => {
    expect(summarizeThread(user("ann"), [])).toBeNull();
  });

  it("counts replies and participants (root author included once), previews the author first then by first reply", () => {
    const summary = summarizeThread(user("ann"), [
      replier("cy", 5, 1),
      replier("ann", 3, 2, "2026-01-01T00:00:09.000Z"),
      replier("bob", 4, 3),
      replier("dee", 6, 1),
    ]);
    expect(summary).toEqual({
      replies_count: 7,
      participants_count: 4,
      participants_preview: [user("ann"), user("bob"), user("cy")].slice(0, THREAD_PREVIEW),
      last_reply_at: "2026-01-01T00:00:09.000Z",
    });
  });
});
