import { describe, expect, it } from "vitest";
import type { DurableEvent } from "../../src/domain/events";
import type { Message } from "../../src/domain/model";
import { signWebhook, verifyWebhookSignature, webhookBody, webhookJobs } from "../../src/push/webhooks";
import { webhookOccurrence } from "../../src/rooms/jobs";

const message: Message = {
  id: "m1",
  room: "r",
  seq: 1,
  sender: { id: "ann", name: null, avatar: null },
  type: "text",
  text: "hi",
  custom_type: null,
  data: null,
  to: null,
  parent_id: null,
  temp_id: null,
  created_at: "2026-01-01T00:00:00.000Z",
  edited_at: null,
  deleted_at: null,
  version: 1,
  changed_seq: 1,
  thread: null,
  reactions: [],
  pinned_at: null,
  mentions: [],
  mentions_room: false,
};
const at = "2026-01-01T00:00:01.000Z";
const by = { id: "ben", name: "Ben", avatar: null };

describe("lifecycle webhooks", () => {
  it("raises message.updated, message.deleted, reaction.changed and message.pinned from their events", () => {
    const events: DurableEvent[] = [
      {
        type: "message_updated",
        room: "r",
        seq: 2,
        at,
        change: "edit",
        message: { ...message, text: "hello" },
      },
      { type: "message_deleted", room: "r", seq: 3, at, message: { ...message, text: "" }, parent: null },
      {
        type: "reaction_changed",
        room: "r",
        seq: 4,
        at,
        message_id: "m1",
        message_seq: 1,
        emoji: "👍",
        user: by,
        added: true,
        reactions: [{ emoji: "👍", count: 1, users: [by] }],
        message,
      },
      {
        type: "message_pinned",
        room: "r",
        seq: 5,
        at,
        message: { ...message, pinned_at: at },
        pinned: true,
        by,
      },
    ];
    const occurrences = events.map(webhookOccurrence);
    expect(occurrences.map((o) => o?.event)).toEqual([
      "message.updated",
      "message.deleted",
      "reaction.changed",
      "message.pinned",
    ]);
    expect(occurrences.map((o) => o?.id)).toEqual(["r:2", "r:3", "r:4", "r:5"]);
    expect(occurrences[0]?.payload).toMatchObject({ change: "edit", message: { text: "hello" } });
    expect(occurrences[2]?.payload).toMatchObject({ emoji: "👍", added: true, user: { id: "ben" } });
    expect(occurrences[3]?.payload).toMatchObject({ pinned: true, by: { id: "ben" } });
  });

  it("signs them like every other webhook", async () => {
    const occurrence = webhookOccurrence({
      type: "message_pinned",
      room: "r",
      seq: 9,
      at,
      message,
      pinned: false,
      by,
    });
    if (!occurrence) throw new Error("no occurrence");
    const [job] = webhookJobs(["https://hooks.example/parley"], occurrence);
    if (!job) throw new Error("no job");
    expect(job).toMatchObject({ kind: "webhook", job_id: "webhook:r:9", event: "message.pinned" });
    const body = webhookBody(job);
    const header = await signWebhook("whsec", body, 1_700_000_000);
    expect((await verifyWebhookSignature("whsec", header, body, { now: 1_700_000_000_000 })).ok).toBe(true);
  });
});
