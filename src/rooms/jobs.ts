import type { DurableEvent } from "../domain/events";
import { eventVisibleTo } from "../domain/events";
import type { Room } from "../domain/model";
import { listVar } from "../env";
import type { WebhookEvent } from "../push/jobs";
import { type WebhookOccurrence, webhookJobs } from "../push/webhooks";
import type { Job } from "../sessions/socket-object";
import { flushRoomRows } from "../storage/room-rows";
import { membersWithDevices } from "../storage/user-rows";
import { typingEvent } from "./commands";
import type { RoomCore } from "./core";
import { userStub } from "./stubs";

/** Offline members are told of new messages (for push) at most this often. */
export const OFFLINE_NOTIFY_DELAY_MS = 1_000;
const OFFLINE_CURSOR = "offline_notified_seq";
const WEBHOOK_CURSOR = "webhooks_enqueued_seq";

/** A room's background work, in the order the alarm runs it. Each moves its cursor only after it succeeded. */
export function roomJobs(core: RoomCore): Job[] {
  const room = core.guard.room();
  if (!room) return [];
  return [
    { name: "typing expiry", run: async (now) => expireTyping(core, room, now) },
    { name: "D1 flush", run: async (now) => flushToD1(core, room, now) },
    { name: "offline notify", run: async (now) => notifyOffline(core, room, now) },
    { name: "notifications", run: async () => deliverNotifications(core) },
    { name: "webhook enqueue", run: async (now) => enqueueWebhooks(core, now) },
    {
      name: "prune",
      run: async (now) => {
        core.store.prune(now);
        return null;
      },
    },
  ];
}

function expireTyping(core: RoomCore, room: Room, now: number): number | null {
  for (const user of core.store.expireTyping(now)) core.publish(typingEvent(room, user, false, now));
  return core.store.nextTypingExpiry();
}

/** Writes the outbox, read markers and members' room pins to D1, oldest first; a failure leaves them for the retry. */
async function flushToD1(core: RoomCore, room: Room, now: number): Promise<number | null> {
  for (;;) {
    const batch = core.store.pendingFlush(100);
    const pins = core.lifecycle.pendingRoomPins(100);
    if (batch.keys.length === 0 && batch.reads.length === 0 && pins.length === 0) return null;
    await flushRoomRows(
      core.env.DB,
      room.number,
      batch.changes,
      batch.reads,
      new Date(now).toISOString(),
      pins,
    );
    core.store.flushed(batch.keys, batch.reads);
    core.lifecycle.roomPinsFlushed(pins);
  }
}

/**
 * Hands queued notification feed entries to their users' objects, one call per user per batch. The feeds
 * deduplicate, so a retry after a partial failure adds nothing twice; delivered rows go at once.
 */
async function deliverNotifications(core: RoomCore): Promise<number | null> {
  for (;;) {
    const pending = core.store.pendingNotifications(200);
    if (pending.length === 0) return null;
    const byUser = new Map<string, typeof pending>();
    for (const p of pending) byUser.set(p.draft.user_id, [...(byUser.get(p.draft.user_id) ?? []), p]);
    const calls = [...byUser].map(async ([userId, rows]) => {
      await userStub(core.env, userId).notify(
        userId,
        rows.map((r) => r.draft),
      );
      core.store.notificationsDelivered(rows.map((r) => r.id));
    });
    const failed = (await Promise.allSettled(calls)).filter((r) => r.status === "rejected");
    if (failed.length > 0)
      throw new Error(`${failed.length} notification deliveries failed: ${String(failed[0]?.reason)}`);
  }
}

/**
 * Hands durable events to the webhook queue. Job ids are stable, so a retry after a failure never delivers
 * twice.
 */
async function enqueueWebhooks(core: RoomCore, now: number): Promise<number | null> {
  const urls = listVar(core.env.WEBHOOK_URLS);
  const cursor = core.store.counter(WEBHOOK_CURSOR);
  const head = core.store.head();
  if (urls.length === 0 || cursor >= head) return null;
  const events = core.store.eventsAfter(cursor, 100);
  const jobs = events.flatMap((e) => {
    const occurrence = webhookOccurrence(e);
    return occurrence ? webhookJobs(urls, occurrence) : [];
  });
  if (jobs.length > 0) await core.env.PUSH_QUEUE.sendBatch(jobs.map((body) => ({ body })));
  const last = events.at(-1)?.seq ?? head;
  core.store.setCounter(WEBHOOK_CURSOR, last);
  return last < head ? now + 10 : null;
}

/**
 * Tells offline members what their user object must act on while no path of theirs is attached: new messages
 * for members with a push device (found with one D1 query per run), and edits and deletions of messages that
 * gave them a notification-feed entry (the room remembers whose feed holds which message), so the feed's preview
 * stays true. Members with any path into the room are online (an attached user object, which counts unread
 * itself, or a subscribed room socket: presence); nobody else is called, and nobody's unread is written: it is
 * derived from the read marker when they attach again (`RoomDO.attachUser`). Every call must succeed before the
 * cursor moves; the receivers are idempotent per message, so a retry after a partial failure repeats nothing for
 * those that already had it.
 */
async function notifyOffline(core: RoomCore, room: Room, now: number): Promise<number | null> {
  const cursor = core.store.counter(OFFLINE_CURSOR);
  const head = core.store.head();
  if (cursor >= head) return null;
  const events = core.store.eventsAfter(cursor, 200);
  const last = events.at(-1)?.seq ?? head;
  const touching = events.filter(
    (e) => e.type === "message" || e.type === "message_deleted" || e.type === "message_updated",
  );
  const offline =
    touching.length === 0
      ? []
      : core.guard
          .memberIds()
          .filter((id) => core.store.attachment(id) === undefined && !core.presence.has(id));
  const posted = touching.some((e) => e.type === "message");
  const pushable =
    offline.length === 0 || !posted ? new Set<string>() : await membersWithDevices(core.env.DB, room.number);
  const changed = touching.flatMap((e) => (e.type === "message" ? [] : [e.message.id]));
  const feeds = offline.length === 0 ? new Map<string, Set<string>>() : core.store.feedHolders(changed);
  const calls = offline
    .map((id) => ({
      id,
      events: touching.filter(
        (e) =>
          touchesInbox(e, id) &&
          (e.type === "message" ? pushable.has(id) : (feeds.get(e.message.id)?.has(id) ?? false)),
      ),
    }))
    .filter((c) => c.events.length > 0)
    .map((c) => userStub(core.env, c.id).offlineEvents(c.id, room, c.events));
  const failed = (await Promise.allSettled(calls)).filter((r) => r.status === "rejected");
  if (failed.length > 0)
    throw new Error(`${failed.length} offline notices failed: ${String(failed[0]?.reason)}`);
  core.store.setCounter(OFFLINE_CURSOR, last);
  return last < head ? now + OFFLINE_NOTIFY_DELAY_MS : null;
}

/** Whether an event changes what `userId`'s inbox shows: others' messages, edits and deletions they may see. */
function touchesInbox(event: DurableEvent, userId: string): boolean {
  if (!eventVisibleTo(event, userId)) return false;
  if (event.type === "message") return event.message.sender.id !== userId;
  return event.type === "message_deleted" || (event.type === "message_updated" && event.change === "edit");
}

/** The webhook event (name and payload) a durable event raises, if any. */
function webhookEventOf(event: DurableEvent): WebhookEvent | null {
  const { room } = event;
  switch (event.type) {
    case "message":
      return { event: "message.created", payload: { room, message: event.message } };
    case "message_updated":
      return {
        event: "message.updated",
        payload: { room, message: event.message, change: event.change === "thread" ? "thread" : "edit" },
      };
    case "message_deleted":
      return { event: "message.deleted", payload: { room, message: event.message } };
    case "reaction_changed": {
      const { message, emoji, user, added, reactions } = event;
      return { event: "reaction.changed", payload: { room, message, emoji, user, added, reactions } };
    }
    case "message_pinned":
      return {
        event: "message.pinned",
        payload: { room, message: event.message, pinned: event.pinned, by: event.by },
      };
    case "member_joined":
      return { event: "member.joined", payload: { room, member: event.member, profile: event.profile } };
    case "member_left":
      return { event: "member.left", payload: { room, user_id: event.user_id, reason: event.reason } };
    default:
      return null;
  }
}

/** The webhook a durable event raises, if any: its id is stable, so a retried enqueue delivers it once. */
export function webhookOccurrence(event: DurableEvent): WebhookOccurrence | null {
  const raised = webhookEventOf(event);
  return raised ? { id: `${event.room}:${event.seq}`, occurred_at: event.at, ...raised } : null;
}
