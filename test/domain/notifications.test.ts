import { describe, expect, it } from "vitest";
import type { Message } from "../../src/domain/model";
import {
  addedNotification,
  notificationPreview,
  notificationsFor,
  PREVIEW_CHARS,
} from "../../src/domain/notifications";
import { message, room, T0, user } from "./fixtures";

const group = room();
const direct = room({ key: "dm:ann:bob", kind: "direct" });
const audience = (members: string[], threadFollowers: string[] = []) => ({ members, threadFollowers });
const who = (m: Message, r = group, a = audience(["ann", "bob", "cy", "dee"])) =>
  notificationsFor(m, r, a).map((n) => [n.user_id, n.kind]);

describe("notificationsFor", () => {
  it("notifies each mentioned member with who, what, where and when", () => {
    const m = message({ seq: 7, id: "m7", text: "hi @bob", mentions: ["bob"] });
    expect(notificationsFor(m, group, audience(["ann", "bob"]))).toEqual([
      {
        user_id: "bob",
        kind: "mention",
        room: "general",
        message_id: "m7",
        message_seq: 7,
        thread_id: null,
        actor: user("ann"),
        text: "hi @bob",
        created_at: new Date(T0).toISOString(),
      },
    ]);
  });

  it("@room notifies every member but the sender", () => {
    expect(who(message({ mentions_room: true }))).toEqual([
      ["bob", "mention"],
      ["cy", "mention"],
      ["dee", "mention"],
    ]);
  });

  it("a reply notifies the thread's followers; a mention wins over a reply for the same user", () => {
    const reply = message({ parent_id: "root", mentions: ["cy"] });
    expect(who(reply, group, audience(["ann", "bob", "cy", "dee"], ["bob", "cy", "ann"]))).toEqual([
      ["cy", "mention"],
      ["bob", "reply"],
    ]);
    const n = notificationsFor(reply, group, audience([], ["bob"]))[0];
    expect(n).toMatchObject({ thread_id: "root" });
  });

  it("a direct message notifies the peer", () => {
    expect(who(message(), direct, audience(["ann", "bob"]))).toEqual([["bob", "direct"]]);
    expect(who(message({ mentions: ["bob"] }), direct, audience(["ann", "bob"]))).toEqual([
      ["bob", "mention"],
    ]);
  });

  it("plain group messages, the sender's own mention, tombstones and commands notify nobody", () => {
    expect(who(message())).toEqual([]);
    expect(who(message({ mentions: ["ann"] }))).toEqual([]);
    expect(who(message({ mentions: ["bob"], deleted_at: new Date(T0).toISOString() }))).toEqual([]);
    expect(who(message({ mentions: ["bob"], type: "command" }))).toEqual([]);
  });

  it("a whisper notifies at most its recipient", () => {
    const whisper = message({ to: "bob", mentions: ["bob"], parent_id: null, mentions_room: true });
    expect(who(whisper)).toEqual([["bob", "mention"]]);
    expect(who(message({ to: "bob", parent_id: "root" }), group, audience([], ["cy", "bob"]))).toEqual([
      ["bob", "reply"],
    ]);
  });
});

describe("added to a room", () => {
  it("notifies a user added by someone else, not one who joined or created it", () => {
    expect(addedNotification(group, user("ann"), "bob", "2026-01-02T00:00:00.000Z")).toEqual({
      user_id: "bob",
      kind: "added",
      room: "general",
      message_id: null,
      message_seq: null,
      thread_id: null,
      actor: user("ann"),
      text: null,
      created_at: "2026-01-02T00:00:00.000Z",
    });
    expect(addedNotification(group, user("bob"), "bob", "2026-01-02T00:00:00.000Z")).toBeNull();
  });
});

describe("previews", () => {
  it("cuts long text at a code point boundary and drops empty text", () => {
    expect(notificationPreview("  ")).toBeNull();
    const long = "😀".repeat(PREVIEW_CHARS + 5);
    const preview = notificationPreview(long) ?? "";
    expect(Array.from(preview)).toHaveLength(PREVIEW_CHARS + 1);
    expect(preview.endsWith("😀…")).toBe(true);
  });
});
