import { z } from "zod";
import type { Command, HistoryQuery, RoomRef } from "../../domain/commands";
import type { Profile } from "../../domain/model";
import { tempIdSchema } from "../../domain/validation";
import { invalidUser, isoFromEjson, type MeteorError, matchFailed, meteorError } from "./ejson";

/**
 * Rocket.Chat's DDP methods as canonical commands. Parameters follow the server's `check()` patterns: a call of
 * the wrong shape gets Meteor's "Match failed", and extra fields inside a message object are ignored.
 */

/** What answering a method's command needs besides the command: its id, name and the page it asked for. */
export interface MethodTag {
  kind: "method";
  id: string;
  method: string;
  /** `rooms/get` and `subscriptions/get` with a date answer `{update, remove}` instead of a list. */
  incremental?: boolean;
  /** `getUsersOfRoom`'s paging and filter, applied to the member list. */
  members?: { skip: number; limit: number | null; filter: string };
}

export type MethodPlan =
  | { kind: "command"; command: Command; tag: MethodTag }
  /** Answered without a command: a result (none when undefined), and a close for `logout`. */
  | { kind: "answer"; result?: unknown; close?: boolean }
  | { kind: "error"; error: MeteorError };

/** The pieces of session state a method reads: the derived temp id counter and where recent messages live. */
export interface MethodContext {
  user: Profile | null;
  sessionId: string;
  sent: number;
  roomOfMessage: (messageId: string) => RoomRef;
}

const roomId = z.string().min(1).max(300);
const messageId = z.string().min(1).max(128);
/** EJSON dates arrive as `{$date}`; some clients send null or nothing for "now". */
const ejsonTime = z.unknown().transform((value, ctx) => {
  if (value === null || value === undefined) return null;
  const iso = isoFromEjson(value);
  if (iso === null) ctx.addIssue({ code: "custom", message: "not an EJSON date" });
  return iso;
});

/** Rocket.Chat's `loadHistory` default page, and the largest page any history method returns. */
const DEFAULT_HISTORY_LIMIT = 20;
export const MAX_HISTORY_LIMIT = 100;
const pageLimit = z.number().int().min(1).max(MAX_HISTORY_LIMIT);

/** Rocket.Chat's emoji names: `:name:`, or the name alone (it adds the colons). */
const emoji = z
  .string()
  .min(1)
  .max(64)
  .transform((name) => (name.startsWith(":") ? name : `:${name}:`));

const schemas = {
  sendMessage: z
    .tuple([
      z.object({ _id: tempIdSchema.optional(), rid: roomId, msg: z.string(), tmid: messageId.optional() }),
    ])
    .rest(z.unknown()),
  loadHistory: z
    .tuple([roomId])
    .rest(z.unknown())
    .transform((params, ctx) => {
      const end = ejsonTime.safeParse(params[1]);
      const limit =
        params[2] === undefined || params[2] === null ? undefined : pageLimit.safeParse(params[2]);
      if (!end.success || (limit && !limit.success)) {
        ctx.addIssue({ code: "custom", message: "end is an EJSON date and limit a page size" });
        return z.NEVER;
      }
      return { rid: params[0], end: end.data, limit: limit?.data ?? DEFAULT_HISTORY_LIMIT };
    }),
  updateMessage: z.tuple([z.object({ _id: messageId, rid: roomId, msg: z.string() })]).rest(z.unknown()),
  deleteMessage: z.tuple([z.object({ _id: messageId })]).rest(z.unknown()),
  setReaction: z.tuple([emoji, messageId]).rest(z.unknown()),
  pinMessage: z.tuple([z.object({ _id: messageId, rid: roomId.optional() })]).rest(z.unknown()),
  readMessages: z.tuple([roomId]).rest(z.unknown()),
  getThreadMessages: z.tuple([
    z.object({
      tmid: messageId,
      limit: z.number().int().min(0).optional(),
      skip: z.number().int().min(0).optional(),
    }),
  ]),
  getUsersOfRoom: z
    .tuple([roomId])
    .rest(z.unknown())
    .transform((params, ctx) => {
      const page = z
        .object({ limit: z.number().int().min(0).optional(), skip: z.number().int().min(0).optional() })
        .nullish()
        .safeParse(params[2]);
      const filter = z.string().max(128).nullish().safeParse(params[3]);
      if (!page.success || !filter.success) {
        ctx.addIssue({ code: "custom", message: "options are {limit, skip} and filter a string" });
        return z.NEVER;
      }
      return {
        rid: params[0],
        skip: page.data?.skip ?? 0,
        limit: page.data?.limit || null,
        filter: filter.data ?? "",
      };
    }),
  createDirectMessage: z.array(z.string().min(1).max(128)).min(1).max(64),
  streamNotifyRoom: z.tuple([z.string().min(1).max(400)]).rest(z.unknown()),
  login: z.tuple([z.object({ resume: z.string().min(1).max(8192) })]).rest(z.unknown()),
};

/** Meteor accounts' answer to a login of a kind no handler takes (password logins, here). */
const unrecognizedLogin = () => meteorError(400, "Unrecognized options for login request");

/** The room a `stream-notify-room` event name addresses, and the activity it reports. */
function typingOf(params: unknown[], me: Profile): { room: string; typing: boolean } | null {
  const parsed = schemas.streamNotifyRoom.safeParse(params);
  if (!parsed.success) return null;
  const [eventName, username, activity] = parsed.data;
  const slash = eventName.lastIndexOf("/");
  const room = eventName.slice(0, slash);
  const event = eventName.slice(slash + 1);
  // Rocket.Chat ignores activity reported in another user's name.
  if (slash <= 0 || username !== me.id) return null;
  if (event === "typing" && typeof activity === "boolean") return { room, typing: activity };
  if (event === "user-activity" && Array.isArray(activity))
    return { room, typing: activity.includes("user-typing") };
  return null;
}

type Planner = (params: unknown[], me: Profile, mc: MethodContext, tag: MethodTag) => MethodPlan | null;

const run = (command: Command, tag: MethodTag): MethodPlan => ({ kind: "command", command, tag });

/** Each method's plan, or null when its parameters do not match. */
const PLANNERS: Record<string, Planner> = {
  sendMessage(params, _me, mc, tag) {
    const parsed = schemas.sendMessage.safeParse(params);
    if (!parsed.success) return null;
    const [message] = parsed.data;
    const draft = {
      temp_id: message._id ?? `${mc.sessionId}:${mc.sent + 1}`,
      text: message.msg,
      parent_id: message.tmid ?? null,
    };
    return run({ kind: "send", room: message.rid, draft }, tag);
  },
  loadHistory(params, _me, _mc, tag) {
    const parsed = schemas.loadHistory.safeParse(params);
    if (!parsed.success) return null;
    const { rid, end, limit } = parsed.data;
    const query: HistoryQuery = end === null ? { limit } : { limit, before_at: end };
    return run({ kind: "history", room: rid, query }, tag);
  },
  updateMessage(params, _me, _mc, tag) {
    const parsed = schemas.updateMessage.safeParse(params);
    if (!parsed.success) return null;
    const [{ _id, rid, msg }] = parsed.data;
    return run({ kind: "edit", room: rid, message_id: _id, text: msg }, tag);
  },
  deleteMessage(params, _me, mc, tag) {
    const parsed = schemas.deleteMessage.safeParse(params);
    if (!parsed.success) return null;
    const [{ _id }] = parsed.data;
    return run({ kind: "delete", room: mc.roomOfMessage(_id), message_id: _id }, tag);
  },
  setReaction(params, _me, mc, tag) {
    const parsed = schemas.setReaction.safeParse(params);
    if (!parsed.success) return null;
    const [name, id, shouldReact] = parsed.data;
    // Without `shouldReact` Rocket.Chat toggles the reaction.
    const add = typeof shouldReact === "boolean" ? shouldReact : "toggle";
    return run({ kind: "react", room: mc.roomOfMessage(id), message_id: id, emoji: name, add }, tag);
  },
  pinMessage: pinPlanner(true),
  unpinMessage: pinPlanner(false),
  readMessages(params, _me, _mc, tag) {
    const parsed = schemas.readMessages.safeParse(params);
    if (!parsed.success) return null;
    return run({ kind: "read", room: parsed.data[0], seq: null }, tag);
  },
  getThreadMessages(params, _me, mc, tag) {
    const parsed = schemas.getThreadMessages.safeParse(params);
    if (!parsed.success) return null;
    const [{ tmid, limit, skip }] = parsed.data;
    if (limit !== undefined && limit > MAX_HISTORY_LIMIT)
      return {
        kind: "error",
        error: meteorError("error-not-allowed", `max limit: ${MAX_HISTORY_LIMIT}`, { method: tag.method }),
      };
    // Parley pages threads by position, not by offset: the replies past the first page are not served.
    if (skip) return { kind: "answer", result: [] };
    const query: HistoryQuery = { thread_id: tmid, limit: limit || MAX_HISTORY_LIMIT };
    return run({ kind: "history", room: mc.roomOfMessage(tmid), query }, tag);
  },
  "rooms/get": listPlanner,
  "subscriptions/get": listPlanner,
  getUsersOfRoom(params, _me, _mc, tag) {
    const parsed = schemas.getUsersOfRoom.safeParse(params);
    if (!parsed.success) return null;
    const { rid, ...members } = parsed.data;
    return run({ kind: "members", room: rid }, { ...tag, members });
  },
  createDirectMessage(params, me, _mc, tag) {
    const parsed = schemas.createDirectMessage.safeParse(params);
    if (!parsed.success) return null;
    const others = [...new Set(parsed.data.filter((username) => username !== me.id))];
    if (others.length > 1)
      return {
        kind: "error",
        error: meteorError("error-not-allowed", "Direct messages with several users are not supported", {
          method: tag.method,
        }),
      };
    return run({ kind: "create_direct", to: others[0] ?? me.id }, tag);
  },
  "stream-notify-room"(params, me, _mc, tag) {
    const typing = typingOf(params, me);
    // Events Parley does not relay are accepted and dropped, as Rocket.Chat drops events it may not write.
    return typing ? run({ kind: "typing", ...typing }, tag) : { kind: "answer" };
  },
};

function pinPlanner(pinned: boolean): Planner {
  return (params, _me, mc, tag) => {
    const parsed = schemas.pinMessage.safeParse(params);
    if (!parsed.success) return null;
    const [{ _id, rid }] = parsed.data;
    return run({ kind: "pin_message", room: rid ?? mc.roomOfMessage(_id), message_id: _id, pinned }, tag);
  };
}

function listPlanner(params: unknown[], _me: Profile, _mc: MethodContext, tag: MethodTag): MethodPlan | null {
  const since = ejsonTime.safeParse(params[0]);
  if (!since.success) return null;
  return run({ kind: "list_rooms" }, { ...tag, incremental: since.data !== null });
}

/** How to answer `method`: with a command to run, at once, or with an error. */
export function planMethod(id: string, method: string, params: unknown[], mc: MethodContext): MethodPlan {
  const tag: MethodTag = { kind: "method", id, method };
  if (method === "login") {
    const parsed = schemas.login.safeParse(params);
    if (!parsed.success) return { kind: "error", error: unrecognizedLogin() };
    const token = parsed.data[0].resume;
    // A second login on a live session renews its token; the host checks that it names the same user.
    return run(mc.user ? { kind: "refresh_token", token } : { kind: "auth", token }, tag);
  }
  if (method === "logout") return { kind: "answer", close: true };
  const planner = Object.hasOwn(PLANNERS, method) ? PLANNERS[method] : undefined;
  if (!planner) return { kind: "error", error: meteorError(404, `Method '${method}' not found`) };
  if (!mc.user) return { kind: "error", error: invalidUser(method) };
  return planner(params, mc.user, mc, tag) ?? { kind: "error", error: matchFailed() };
}
