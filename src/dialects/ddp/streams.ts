import type { FollowScope } from "../../domain/commands";
import { type ChatEvent, eventVisibleTo, isRoomEvent, type RoomEvent } from "../../domain/events";
import { directRoomUsers } from "../../domain/ids";
import type { Message, Profile, RoomBrief } from "../../domain/model";
import type { SessionContext } from "../codec";
import { type MeteorError, meteorError } from "./ejson";
import {
  rcMessage,
  rcNotification,
  rcRemovedSubscription,
  rcRoom,
  rcSubscription,
  rcSubscriptionOfListing,
  rcUser,
  type SubscriptionFacts,
} from "./shapes";

/**
 * Rocket.Chat's Streamer publications: `sub {name: "stream-<stream>", params: [eventName, options]}`, each event a
 * `changed` on collection `stream-<stream>` with `fields {eventName, args}`.
 */
export const STREAMS = ["room-messages", "notify-room", "notify-user"] as const;
export type Stream = (typeof STREAMS)[number];

/** A subscription that routes events, kept in the session state. */
export interface StreamSub {
  id: string;
  stream: Stream;
  eventName: string;
}

/**
 * What a stored subscription makes the session follow: one room (with presence), or a scope. Null for the user's
 * room list streams: every session of the user gets its room list changes and unread counts without following
 * anything, and following every room would replace those counts by each room's raw events.
 */
export type Target = { room: string } | { scope: FollowScope } | null;

export const MY_MESSAGES = "__my_messages__";

/** Longest event name accepted: `<room key>/<event>` with the longest direct room key. */
const MAX_EVENT_NAME_CHARS = 320;

/** Streams that exist in Rocket.Chat but carry nothing Parley emits: subscribing succeeds and stays silent. */
const SILENT_STREAMS = new Set(["notify-all", "notify-logged"]);

const ROOM_EVENTS = new Set(["typing", "user-activity", "deleteMessage", "messagesRead"]);
const USER_EVENTS: Record<string, FollowScope | null> = {
  notification: "notifications",
  "rooms-changed": null,
  "subscriptions-changed": null,
};

/** `<prefix>/<event>` split at the last slash (room keys may hold slashes, event names do not). */
function splitEventName(eventName: string): { prefix: string; event: string } | null {
  const slash = eventName.lastIndexOf("/");
  if (slash <= 0 || slash === eventName.length - 1) return null;
  return { prefix: eventName.slice(0, slash), event: eventName.slice(slash + 1) };
}

export function targetOf(sub: StreamSub): Target {
  if (sub.stream === "room-messages")
    return sub.eventName === MY_MESSAGES ? { scope: "rooms" } : { room: sub.eventName };
  const parts = splitEventName(sub.eventName);
  if (sub.stream === "notify-room") return { room: parts?.prefix ?? sub.eventName };
  const scope = USER_EVENTS[parts?.event ?? ""];
  return scope ? { scope } : null;
}

/** Whether two subscriptions follow the same thing (never for subscriptions that follow nothing). */
export function sameTarget(a: Target, b: Target): boolean {
  if (a === null || b === null) return false;
  return "room" in a ? "room" in b && a.room === b.room : "scope" in b && a.scope === b.scope;
}

/** How to answer a `sub`: store it and follow its target, accept it silently, or refuse it with `nosub`. */
export type SubPlan =
  | { kind: "store"; sub: StreamSub }
  | { kind: "silent" }
  | { kind: "refuse"; error: MeteorError };

const notAllowed = (): SubPlan => ({ kind: "refuse", error: meteorError("not-allowed") });

export function planSub(id: string, name: string, eventName: unknown, me: Profile): SubPlan {
  const stream = name.startsWith("stream-") ? name.slice("stream-".length) : "";
  if (SILENT_STREAMS.has(stream)) return { kind: "silent" };
  if (!(STREAMS as readonly string[]).includes(stream))
    return { kind: "refuse", error: meteorError(404, `Subscription '${name}' not found`) };
  if (typeof eventName !== "string" || eventName.length === 0 || eventName.length > MAX_EVENT_NAME_CHARS)
    return { kind: "refuse", error: meteorError("invalid-event-name") };
  const sub: StreamSub = { id, stream: stream as Stream, eventName };
  if (stream === "room-messages") return { kind: "store", sub };
  const parts = splitEventName(eventName);
  if (!parts) return notAllowed();
  if (stream === "notify-user") {
    if (parts.prefix !== me.id) return notAllowed();
    return parts.event in USER_EVENTS ? { kind: "store", sub } : { kind: "silent" };
  }
  return ROOM_EVENTS.has(parts.event) ? { kind: "store", sub } : { kind: "silent" };
}

/** One stream event: the `changed` frame of `stream-<stream>` for `eventName`. */
interface StreamEvent {
  stream: Stream;
  eventName: string;
  args: unknown[];
}

export function changedFrame({ stream, eventName, args }: StreamEvent): string {
  return JSON.stringify({
    msg: "changed",
    collection: `stream-${stream}`,
    id: "id",
    fields: { eventName, args },
  });
}

/** A message whose pin state is the event's (the message may predate the pin being recorded on it). */
function pinnedAs(message: Message, pinned: boolean, at: string): Message {
  return { ...message, pinned_at: pinned ? (message.pinned_at ?? at) : null };
}

function messageEvents(room: string, message: Message): StreamEvent[] {
  const args = [rcMessage(message)];
  return [
    { stream: "room-messages", eventName: room, args },
    { stream: "room-messages", eventName: MY_MESSAGES, args },
  ];
}

function roomStreamEvents(event: RoomEvent, me: Profile): StreamEvent[] {
  if (!eventVisibleTo(event, me.id)) return [];
  const notifyRoom = (name: string, args: unknown[]): StreamEvent => ({
    stream: "notify-room",
    eventName: `${event.room}/${name}`,
    args,
  });
  switch (event.type) {
    case "message":
    case "message_updated":
    case "reaction_changed":
      return messageEvents(event.room, event.message);
    case "message_pinned":
      return messageEvents(event.room, pinnedAs(event.message, event.pinned, event.at));
    case "message_deleted":
      return [notifyRoom("deleteMessage", [{ _id: event.message.id }])];
    case "typing": {
      // Rocket.Chat does not echo a client's own typing back to it.
      if (event.user.id === me.id) return [];
      const username = rcUser(event.user).username;
      return [
        notifyRoom("typing", [username, event.typing]),
        notifyRoom("user-activity", [username, event.typing ? ["user-typing"] : []]),
      ];
    }
    case "read":
      return event.user_id === me.id || event.message_seqs.length === 0
        ? []
        : [notifyRoom("messagesRead", [{ until: { $date: Date.parse(event.at) } }])];
    default:
      return [];
  }
}

/** The brief of a room the host did not describe, from what its key says. */
const guessedBrief = (key: string): RoomBrief => ({
  key,
  name: null,
  number: 0,
  kind: directRoomUsers(key) ? "direct" : "group",
  private: false,
  epoch: "",
});

function userStreamEvents(event: ChatEvent, me: Profile, ctx: SessionContext): StreamEvent[] {
  const notifyUser = (name: string, args: unknown[]): StreamEvent => ({
    stream: "notify-user",
    eventName: `${me.id}/${name}`,
    args,
  });
  const now = ctx.now().toISOString();
  const subscriptionChange = (change: "inserted" | "updated", room: string, facts: SubscriptionFacts) =>
    notifyUser("subscriptions-changed", [
      change,
      rcSubscription(ctx.roomInfo(room) ?? guessedBrief(room), facts, me, now),
    ]);
  const removal = (room: string) => [
    notifyUser("rooms-changed", ["removed", { _id: room }]),
    notifyUser("subscriptions-changed", ["removed", rcRemovedSubscription(room, me)]),
  ];
  switch (event.type) {
    case "room_added":
      if (!event.listing) return [subscriptionChange("inserted", event.room, {})];
      return [
        notifyUser("rooms-changed", ["inserted", rcRoom(event.listing.room, event.listing.last_message)]),
        notifyUser("subscriptions-changed", ["inserted", rcSubscriptionOfListing(event.listing, me, now)]),
      ];
    case "room_removed":
    case "room_deleted":
      return removal(event.room);
    case "room_updated":
      return [notifyUser("rooms-changed", ["updated", rcRoom(event.info, null)])];
    case "inbox":
      return [subscriptionChange("updated", event.room, { unread: event.unread, mentions: event.mentions })];
    case "room_read":
      return [subscriptionChange("updated", event.room, { unread: 0, mentions: 0 })];
    case "room_pinned":
    case "room_unpinned":
      return [subscriptionChange("updated", event.room, { pinned: event.type === "room_pinned" })];
    case "notification": {
      const { notification } = event;
      // A notification about no message (being added to a room) has no Rocket.Chat counterpart.
      if (notification.message_id === null) return [];
      return [notifyUser("notification", [rcNotification(notification, ctx.roomInfo(notification.room))])];
    }
    default:
      return [];
  }
}

/** Every stream event `event` can become for `me`, before filtering by what the session subscribed to. */
export function streamEventsOf(event: ChatEvent, me: Profile, ctx: SessionContext): StreamEvent[] {
  return [...(isRoomEvent(event) ? roomStreamEvents(event, me) : []), ...userStreamEvents(event, me, ctx)];
}
