import type { DurableEvent } from "../domain/events";
import { eventVisibleTo } from "../domain/events";
import type { Room } from "../domain/model";
import { listVar } from "../env";
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

/** Writes the outbox and read markers to D1, oldest first; a failure leaves them for the retry. */
async function flushToD1(core: RoomCore, room: Room, now: number): Promise<number | null> {
  while (core.store.hasPendingFlush()) {
    const batch = core.store.pendingFlush(100);
    const changes = batch.messages.map((message) => ({
      message,
      change: "post" as const,
      at: message.created_at,
    }));
    await flushRoomRows(core.env.DB, room.number, changes, batch.reads, new Date(now).toISOString());
    core.store.flushed(batch.messages.at(-1)?.seq ?? null, batch.reads);
  }
  return null;
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
 * Tells offline members who can be pushed about new messages. Members with any path into the room are online
 * (an attached user object, which counts their unread itself, or a subscribed room socket: presence), and of
 * the rest only those with a push device are called: one D1 query per run finds them, so a message costs one
 * request per offline member with a device, none for the others (their unread is derived when they reconnect:
 * `RoomDO.attachUser`). Every call must succeed before the cursor moves; the receivers are idempotent per
 * message, so a retry after a partial failure repeats nothing for those that already had it.
 */
async function notifyOffline(core: RoomCore, room: Room, now: number): Promise<number | null> {
  const cursor = core.store.counter(OFFLINE_CURSOR);
  const head = core.store.head();
  if (cursor >= head) return null;
  const events = core.store.eventsAfter(cursor, 200);
  const last = events.at(-1)?.seq ?? head;
  const posted = events.filter((e) => e.type === "message");
  const offline =
    posted.length === 0
      ? []
      : core.guard
          .memberIds()
          .filter((id) => core.store.attachment(id) === undefined && !core.presence.has(id));
  const pushable =
    offline.length === 0 ? new Set<string>() : await membersWithDevices(core.env.DB, room.number);
  const calls = offline
    .filter((id) => pushable.has(id))
    .map((id) => ({
      id,
      messages: posted.flatMap((e) =>
        e.message.sender.id !== id && eventVisibleTo(e, id) ? [e.message] : [],
      ),
    }))
    .filter((c) => c.messages.length > 0)
    .map((c) => userStub(core.env, c.id).offlineMessages(c.id, room, c.messages));
  const failed = (await Promise.allSettled(calls)).filter((r) => r.status === "rejected");
  if (failed.length > 0)
    throw new Error(`${failed.length} offline notices failed: ${String(failed[0]?.reason)}`);
  core.store.setCounter(OFFLINE_CURSOR, last);
  return last < head ? now + OFFLINE_NOTIFY_DELAY_MS : null;
}

/** The webhook a durable event raises, if any. */
function webhookOccurrence(event: DurableEvent): WebhookOccurrence | null {
  const id = `${event.room}:${event.seq}`;
  const at = event.at;
  switch (event.type) {
    case "message":
      return {
        id,
        occurred_at: at,
        event: "message.created",
        payload: { room: event.room, message: event.message },
      };
    case "member_joined":
      return {
        id,
        occurred_at: at,
        event: "member.joined",
        payload: { room: event.room, member: event.member, profile: event.profile },
      };
    case "member_left":
      return {
        id,
        occurred_at: at,
        event: "member.left",
        payload: { room: event.room, user_id: event.user_id, reason: event.reason },
      };
    default:
      return null;
  }
}
