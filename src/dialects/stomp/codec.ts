import { z } from "zod";
import { FRAME_JSON_LIMITS, jsonBoundsIssue } from "../../domain/bounds";
import type { Command, CommandOutcome } from "../../domain/commands";
import { type ChatError, closeFor, type ErrorCode } from "../../domain/errors";
import { type ChatEvent, eventVisibleTo } from "../../domain/events";
import { ROOM_KEY_PATTERN } from "../../domain/ids";
import type { MessageDraft, Profile } from "../../domain/model";
import { boundedJsonSchema, firstIssue, tempIdSchema, userIdSchema } from "../../domain/validation";
import type { Codec, Decoded, SessionContext } from "../codec";
import {
  decodeUtf8,
  excerpt,
  formatFrame,
  type RawFrame,
  readHeaders,
  STOMP_VERSIONS,
  type StompVersion,
  scanFrames,
  utf8Length,
} from "./frame";
import { stompEphemeralId, stompMessageId } from "./ids";

/** The WebSocket subprotocols stompjs offers, best first. */
const SUBPROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"] as const;

/** The best STOMP subprotocol among those the client offered in `Sec-WebSocket-Protocol`, or null. */
export function chooseStompSubprotocol(offered: readonly string[]): string | null {
  const names = new Set(offered.map((name) => name.trim()));
  return SUBPROTOCOLS.find((name) => names.has(name)) ?? null;
}

const SERVER_NAME = "Parley";
/** Keeps the state, which lives in the 16 KiB socket attachment, small. */
const MAX_SUBSCRIPTIONS = 8;
const MAX_SUBSCRIPTION_ID_CHARS = 128;
/** Client frames carry a handful of headers; more is abuse, refused before they are unescaped. */
export const MAX_HEADERS = 64;
/**
 * The unfinished part of a frame split across WebSocket messages lives in the attachment too, where a string
 * may take two bytes per character: a split frame is limited to this, a whole one only by `maxFrameBytes`.
 */
export const MAX_PARTIAL_FRAME_BYTES = 6144;

type Topic = "chat" | "dm";

interface Subscription {
  id: string;
  room: string;
  topic: Topic;
}

export interface StompState {
  /** `greeting` until CONNECT, `authenticating` until the host answers it, `closed` after ERROR or DISCONNECT. */
  phase: "greeting" | "authenticating" | "connected" | "closed";
  version: StompVersion | null;
  /** The start of a frame split across WebSocket messages. */
  partial: string;
  /** The bytes of a character split across binary WebSocket messages. */
  partialBytes: number[];
  /** SEND frames decoded so far: the counter behind derived temp ids. */
  sent: number;
  /** How often the client promised heart-beats (its `cx`), in ms; 0 when it sends none. */
  clientBeatMs: number;
  subscriptions: Subscription[];
  /** JOIN/LEAVE messages sent to this session so far: the counter behind their ids. */
  announced: number;
}

/** What the answer to a decoded command needs to know about the frame that asked. */
export type StompTag =
  | { frame: "CONNECT" }
  | { frame: "SUBSCRIBE" | "UNSUBSCRIBE" | "SEND"; receipt: string | null };

type Close = { code: number; reason: string };

const NORMAL_CLOSURE = 1000;

/** STOMP answers every refusal with ERROR and then closes: the frame and the close that carry `error`. */
function errorFrame(
  version: StompVersion | null,
  error: ChatError,
  receipt: string | null,
  extraHeaders: [string, string][] = [],
): { frame: string; close: Close } {
  const headers: [string, string][] = [["message", error.message], ...extraHeaders];
  if (receipt !== null) headers.push(["receipt-id", receipt]);
  if (error.retry_after !== undefined) headers.push(["retry-after", String(error.retry_after)]);
  headers.push(["content-type", "text/plain"]);
  return {
    frame: formatFrame({ command: "ERROR", headers, body: error.code }, version),
    close: closeFor(error),
  };
}

const receiptFrame = (version: StompVersion | null, receipt: string) =>
  formatFrame({ command: "RECEIPT", headers: [["receipt-id", receipt]] }, version);

/** The highest version both sides speak; a client that names none speaks 1.0. */
function negotiateVersion(acceptVersion: string | undefined): StompVersion | null {
  if (acceptVersion === undefined) return "1.0";
  const accepted = new Set(acceptVersion.split(",").map((v) => v.trim()));
  return STOMP_VERSIONS.find((v) => accepted.has(v)) ?? null;
}

/** The client's heart-beat period `cx` from its `heart-beat: cx,cy` header (none means 0,0), or null if malformed. */
function clientBeatMs(header: string | undefined): number | null {
  if (header === undefined) return 0;
  const match = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/.exec(header);
  return match ? Number(match[1]) : null;
}

/**
 * The server's `heart-beat: sx,sy`. It sends no beats of its own (sx = 0): the host echoes each client beat, but
 * promising beats would let a client whose timers are throttled drop a healthy connection. It asks for beats at
 * the client's own pace (sy = cx), and stompjs then beats every max(cx, sy) = cx ms.
 */
const serverHeartBeat = (cx: number) => `0,${cx}`;

/**
 * Silence tolerated from a client that promised beats every `cx` ms: three missed beats, and never under 90 s,
 * because browsers throttle the timers of background tabs to about one a minute.
 */
const idleLimitFor = (cx: number) => Math.max(3 * cx, 90_000);

const sendBodySchema = z.object({
  channel_key: z.string(),
  user: z.object({
    id: z.union([z.string(), z.number().int()]).transform(String),
    username: z.string().nullish(),
    avatar: z.string().nullish(),
  }),
  message_type: z.enum(["MESSAGE", "COMMAND", "DM", "JOIN", "LEAVE"]),
  message: z.string(),
  custom_type: z.string().nullish(),
  data: boundedJsonSchema.optional(),
});

const CHAT_TOPIC = /^\/topic\/chat\/([^/]+)$/;
const DM_TOPIC = /^\/topic\/dm\/([^/]+)\/user\/([^/]+)$/;

const destinationOf = (sub: Subscription, userId: string) =>
  sub.topic === "chat" ? `/topic/chat/${sub.room}` : `/topic/dm/${sub.room}/user/${userId}`;

/** The unix time in seconds, as a string, the way the Gossip message model shows `created_at`. */
const unixSeconds = (iso: string) => String(Math.floor(Date.parse(iso) / 1000));

/** The decode in progress: frames are handled in order until one of them ends the session. */
type Turn = Decoded<StompState, StompTag>;

/** A client frame with its headers unescaped. */
interface ClientFrame {
  command: string;
  headers: Map<string, string>;
  body: string;
}

type Handler = (turn: Turn, frame: ClientFrame, ctx: SessionContext) => void;

/** Headers are escaped only once CONNECTED has told the client which version is spoken. */
const agreedVersion = (state: StompState): StompVersion | null =>
  state.phase === "connected" ? state.version : null;

const closedState = (state: StompState): StompState => ({
  ...state,
  phase: "closed",
  partial: "",
  partialBytes: [],
});

/** Ends the session with ERROR; the commands of the same WebSocket message are dropped with it. */
function refuse(
  turn: Turn,
  frame: ClientFrame | null,
  code: ErrorCode,
  message: string,
  extraHeaders: [string, string][] = [],
): void {
  const receipt = frame?.headers.get("receipt") ?? null;
  const error = errorFrame(agreedVersion(turn.state), { code, message }, receipt, extraHeaders);
  turn.state = closedState(turn.state);
  turn.commands = [];
  turn.replies.push(error.frame);
  turn.close = error.close;
}

/** The room a destination's channel key names: the URL's room for room-scoped sessions, else the key itself. */
function roomOf(channelKey: string, ctx: SessionContext): string | null {
  if (ctx.room !== null) return channelKey === ctx.room ? ctx.room : null;
  return ROOM_KEY_PATTERN.test(channelKey) ? channelKey : null;
}

const connect: Handler = (turn, frame) => {
  const { headers } = frame;
  const version = negotiateVersion(headers.get("accept-version"));
  if (version === null) {
    refuse(turn, frame, "bad_request", "no common STOMP version", [["version", STOMP_VERSIONS.join(",")]]);
    return;
  }
  const beatMs = version === "1.0" ? 0 : clientBeatMs(headers.get("heart-beat"));
  if (beatMs === null) {
    refuse(turn, frame, "bad_request", "heart-beat must be two millisecond counts");
    return;
  }
  const token = headers.get("token");
  if (!token) {
    refuse(turn, frame, "unauthorized", "the token header is required");
    return;
  }
  const command: Command = { kind: "auth", token };
  const userId = headers.get("userid");
  const appId = headers.get("appid");
  const username = headers.get("username");
  if (userId !== undefined) command.expectUserId = userId;
  if (appId !== undefined) command.appId = appId;
  if (username) command.name = username.slice(0, 128);
  turn.state = { ...turn.state, phase: "authenticating", version, clientBeatMs: beatMs };
  turn.commands.push({ command, tag: { frame: "CONNECT" } });
};

const subscribe: Handler = (turn, frame, ctx) => {
  const { state } = turn;
  const { headers } = frame;
  const destination = headers.get("destination");
  const id = headers.get("id") ?? (state.version === "1.0" ? destination : undefined);
  const receipt = headers.get("receipt") ?? null;
  if (destination === undefined || id === undefined) {
    refuse(turn, frame, "bad_request", "SUBSCRIBE needs destination and id headers");
    return;
  }
  if (id === "" || id.length > MAX_SUBSCRIPTION_ID_CHARS) {
    refuse(turn, frame, "bad_request", `subscription ids have 1 to ${MAX_SUBSCRIPTION_ID_CHARS} characters`);
    return;
  }
  if ((headers.get("ack") ?? "auto") !== "auto") {
    refuse(turn, frame, "bad_request", "only ack:auto subscriptions are supported");
    return;
  }
  if (state.subscriptions.some((sub) => sub.id === id)) {
    refuse(turn, frame, "bad_request", `subscription id ${excerpt(id)} is already in use`);
    return;
  }
  if (state.subscriptions.length >= MAX_SUBSCRIPTIONS) {
    refuse(turn, frame, "forbidden", `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`);
    return;
  }
  const chat = CHAT_TOPIC.exec(destination);
  const dm = DM_TOPIC.exec(destination);
  const channelKey = chat?.[1] ?? dm?.[1];
  const room = channelKey === undefined ? null : roomOf(channelKey, ctx);
  if (room === null || (dm !== null && dm[2] !== ctx.user?.id)) {
    refuse(turn, frame, "forbidden", `cannot subscribe to ${excerpt(destination)}`);
    return;
  }
  const firstForRoom = !state.subscriptions.some((sub) => sub.room === room);
  turn.state = {
    ...state,
    subscriptions: [...state.subscriptions, { id, room, topic: chat ? "chat" : "dm" }],
  };
  if (firstForRoom) {
    turn.commands.push({
      command: { kind: "subscribe", room, since: null },
      tag: { frame: "SUBSCRIBE", receipt },
    });
  } else if (receipt !== null) {
    turn.replies.push(receiptFrame(agreedVersion(state), receipt));
  }
};

/** Unsubscribing an unknown id is not an error: a client may still hold a subscription of an earlier socket. */
const unsubscribe: Handler = (turn, frame) => {
  const { state } = turn;
  const { headers } = frame;
  const id = headers.get("id") ?? (state.version === "1.0" ? headers.get("destination") : undefined);
  const receipt = headers.get("receipt") ?? null;
  if (id === undefined) {
    refuse(turn, frame, "bad_request", "UNSUBSCRIBE needs an id header");
    return;
  }
  const removed = state.subscriptions.find((sub) => sub.id === id);
  const subscriptions = state.subscriptions.filter((sub) => sub.id !== id);
  turn.state = { ...state, subscriptions };
  if (removed && !subscriptions.some((sub) => sub.room === removed.room)) {
    turn.commands.push({
      command: { kind: "unsubscribe", room: removed.room },
      tag: { frame: "UNSUBSCRIBE", receipt },
    });
  } else if (receipt !== null) {
    turn.replies.push(receiptFrame(agreedVersion(state), receipt));
  }
};

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const send: Handler = (turn, frame, ctx) => {
  const { state } = turn;
  const { headers } = frame;
  const destination = headers.get("destination");
  if (destination !== "/app/chat" && destination !== "/app/dm") {
    refuse(
      turn,
      frame,
      "forbidden",
      `cannot send to ${destination === undefined ? "no destination" : excerpt(destination)}`,
    );
    return;
  }
  if (headers.has("transaction")) {
    refuse(turn, frame, "bad_request", "transactions are not supported");
    return;
  }
  const contentType = headers.get("content-type");
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
    refuse(turn, frame, "bad_request", "content-type must be application/json");
    return;
  }
  const json = parseJson(frame.body);
  if (!json.ok) {
    refuse(turn, frame, "bad_request", "the body is not JSON");
    return;
  }
  const tooComplex = jsonBoundsIssue(json.value, FRAME_JSON_LIMITS);
  if (tooComplex !== null) {
    refuse(turn, frame, "bad_request", `body: ${tooComplex}`);
    return;
  }
  const parsed = sendBodySchema.safeParse(json.value);
  if (!parsed.success) {
    refuse(turn, frame, "bad_request", firstIssue(parsed.error));
    return;
  }
  const body = parsed.data;
  const room = roomOf(body.channel_key, ctx);
  if (room === null) {
    refuse(turn, frame, "forbidden", `cannot send to channel ${excerpt(body.channel_key)}`);
    return;
  }
  if (body.user.id !== ctx.user?.id) {
    refuse(turn, frame, "forbidden", "user.id must be the connected user");
    return;
  }
  if (body.message_type === "JOIN" || body.message_type === "LEAVE") {
    refuse(turn, frame, "forbidden", `${body.message_type} messages are sent by the server only`);
    return;
  }
  const direct = destination === "/app/dm";
  if (body.message_type === "DM" && !direct) {
    refuse(turn, frame, "bad_request", "DM messages are sent to /app/dm");
    return;
  }
  let to: string | null = null;
  if (direct) {
    const receiver = userIdSchema.safeParse(headers.get("receiver"));
    if (!receiver.success) {
      refuse(turn, frame, "bad_request", `receiver: ${firstIssue(receiver.error)}`);
      return;
    }
    to = receiver.data;
  }
  const explicitKey = headers.get("idempotency-key");
  if (explicitKey !== undefined && !tempIdSchema.safeParse(explicitKey).success) {
    refuse(turn, frame, "bad_request", "idempotency-key has 1 to 128 characters");
    return;
  }
  const sent = state.sent + 1;
  const draft: MessageDraft = {
    temp_id: explicitKey ?? `${ctx.sessionId}:${sent}`,
    text: body.message,
    type: body.message_type === "COMMAND" ? "command" : "text",
    custom_type: body.custom_type ?? null,
    to,
  };
  if (body.data !== undefined) draft.data = body.data;
  turn.state = { ...state, sent };
  turn.commands.push({
    command: { kind: "send", room, draft },
    tag: { frame: "SEND", receipt: headers.get("receipt") ?? null },
  });
};

const disconnect: Handler = (turn, frame) => {
  const receipt = frame.headers.get("receipt");
  if (receipt !== undefined) turn.replies.push(receiptFrame(agreedVersion(turn.state), receipt));
  turn.state = closedState(turn.state);
  turn.close = { code: NORMAL_CLOSURE, reason: "DISCONNECT" };
};

const unsupported =
  (what: string): Handler =>
  (turn, frame) =>
    refuse(turn, frame, "bad_request", `${what} are not supported`);

const SESSION_HANDLERS: Record<string, Handler> = {
  SEND: send,
  SUBSCRIBE: subscribe,
  UNSUBSCRIBE: unsubscribe,
  DISCONNECT: disconnect,
  ACK: unsupported("acknowledgements"),
  NACK: unsupported("acknowledgements"),
  BEGIN: unsupported("transactions"),
  COMMIT: unsupported("transactions"),
  ABORT: unsupported("transactions"),
};

function handleFrame(turn: Turn, raw: RawFrame, ctx: SessionContext): void {
  const isConnect = raw.command === "CONNECT" || raw.command === "STOMP";
  if (raw.headers.length > MAX_HEADERS) {
    refuse(turn, null, "bad_request", `a frame has at most ${MAX_HEADERS} headers`);
    return;
  }
  const read = readHeaders(raw, agreedVersion(turn.state));
  if (!read.ok) {
    refuse(turn, null, "bad_request", read.error);
    return;
  }
  const frame: ClientFrame = { command: raw.command, headers: read.headers, body: raw.body };
  if (isConnect) {
    if (turn.state.phase === "greeting") connect(turn, frame, ctx);
    else refuse(turn, frame, "bad_request", "already connected");
    return;
  }
  const handler = SESSION_HANDLERS[raw.command];
  if (turn.state.phase !== "connected" || ctx.user === null)
    refuse(turn, frame, "unauthorized", "CONNECT first");
  else if (handler) handler(turn, frame, ctx);
  else refuse(turn, frame, "bad_request", `unknown command ${raw.command}`);
}

function profileJson(profile: Profile) {
  return { id: profile.id, username: profile.name, avatar: profile.avatar };
}

/** The header that carries Parley's own message id (a UUIDv7), next to the numeric Gossip `message-id`. */
const PARLEY_ID_HEADER = "parley-message-id";

function messageFrames(
  state: StompState,
  room: string,
  topic: Topic,
  ids: { gossip: string; parley: string | null },
  body: Record<string, unknown>,
  userId: string,
): string[] {
  const text = JSON.stringify(body);
  const parleyHeader: [string, string][] = ids.parley === null ? [] : [[PARLEY_ID_HEADER, ids.parley]];
  return state.subscriptions
    .filter((sub) => sub.room === room && sub.topic === topic)
    .map((sub) =>
      formatFrame(
        {
          command: "MESSAGE",
          headers: [
            ["destination", destinationOf(sub, userId)],
            ["subscription", sub.id],
            ["message-id", ids.gossip],
            ...parleyHeader,
            ["content-type", "application/json"],
          ],
          body: text,
        },
        agreedVersion(state),
      ),
    );
}

export const stompCodec: Codec<StompState, StompTag> = {
  name: "stomp",
  // One room per socket, named by the URL; or every room of the user, named by each destination.
  endpoints: [
    { path: "/v1/rooms/:room/stomp", scope: "room" },
    { path: "/v1/stomp", scope: "user" },
  ],
  auth: "first_frame",
  chooseSubprotocol: chooseStompSubprotocol,

  initialState: () => ({
    phase: "greeting",
    version: null,
    partial: "",
    partialBytes: [],
    sent: 0,
    clientBeatMs: 0,
    subscriptions: [],
    announced: 0,
  }),

  decode(state, data, ctx) {
    const turn: Turn = { state, commands: [], replies: [] };
    if (state.phase === "closed") return turn;
    let text: string;
    if (typeof data === "string") {
      if (state.partialBytes.length > 0) {
        refuse(turn, null, "bad_request", "a character was split across a binary and a text message");
        return turn;
      }
      text = data;
    } else {
      const decoded = decodeUtf8(state.partialBytes, data);
      if (decoded === null) {
        refuse(turn, null, "bad_request", "binary message is not UTF-8");
        return turn;
      }
      text = decoded.text;
      turn.state = { ...state, partialBytes: decoded.pending };
    }
    const scan = scanFrames(turn.state.partial + text, ctx.maxFrameBytes);
    turn.state = { ...turn.state, partial: scan.rest };
    for (const frame of scan.frames) {
      handleFrame(turn, frame, ctx);
      if (turn.close) return turn;
    }
    if (scan.error === null && utf8Length(scan.rest) > MAX_PARTIAL_FRAME_BYTES) {
      const limit = `a frame split across WebSocket messages is larger than ${MAX_PARTIAL_FRAME_BYTES} bytes`;
      refuse(turn, null, "payload_too_large", limit);
    } else if (scan.error !== null) {
      refuse(
        turn,
        null,
        scan.error.kind === "too_large" ? "payload_too_large" : "bad_request",
        scan.error.message,
      );
    }
    return turn;
  },

  encodeOutcome(state, tag, _command, outcome: CommandOutcome, ctx) {
    if (state.phase === "closed") return { state, frames: [] };
    if (!outcome.ok) {
      const receipt = tag.frame === "CONNECT" ? null : tag.receipt;
      const { frame, close } = errorFrame(agreedVersion(state), outcome.error, receipt);
      return { state: closedState(state), frames: [frame], close };
    }
    if (tag.frame === "CONNECT") {
      const connected: StompState = { ...state, phase: "connected" };
      const version = state.version ?? "1.0";
      const headers: [string, string][] = [["version", version]];
      if (version !== "1.0") headers.push(["heart-beat", serverHeartBeat(state.clientBeatMs)]);
      headers.push(["server", SERVER_NAME], ["session", ctx.sessionId]);
      if (outcome.value.kind === "auth") headers.push(["user-name", outcome.value.user.id]);
      return { state: connected, frames: [formatFrame({ command: "CONNECTED", headers }, state.version)] };
    }
    return { state, frames: tag.receipt === null ? [] : [receiptFrame(agreedVersion(state), tag.receipt)] };
  },

  encodeEvent(state, event: ChatEvent, ctx) {
    const user = ctx.user;
    if (state.phase !== "connected" || user === null) return [];
    if (event.type === "message") {
      const m = event.message;
      // A DM is "only for me" (seed 000): its receiver's; the sender's RECEIPT is its confirmation.
      if (!eventVisibleTo(event, user.id) || (m.to !== null && m.to !== user.id)) return [];
      const messageId = stompMessageId(m.created_at, m.seq);
      const body = {
        channel_key: event.room,
        user: profileJson(m.sender),
        message_type: m.type === "command" ? "COMMAND" : m.to === null ? "MESSAGE" : "DM",
        message_id: messageId,
        message: m.text,
        custom_type: m.custom_type,
        data: m.data ?? null,
        created_at: unixSeconds(m.created_at),
      };
      const ids = { gossip: messageId, parley: m.id };
      return messageFrames(state, event.room, m.to === null ? "chat" : "dm", ids, body, user.id);
    }
    if (event.type === "occupancy") {
      const messageId = stompEphemeralId(event.at, state.announced);
      const body = {
        channel_key: event.room,
        user: profileJson(event.user),
        message_type: event.what === "join" ? "JOIN" : "LEAVE",
        message_id: messageId,
        message: "",
        custom_type: null,
        data: null,
        created_at: unixSeconds(event.at),
        total_user_count: event.total_user_count,
        participant_count: event.participant_count,
      };
      return messageFrames(state, event.room, "chat", { gossip: messageId, parley: null }, body, user.id);
    }
    return [];
  },

  // Counts the JOIN/LEAVE messages this session received; nothing else changes the state.
  afterEvent: (state, event) =>
    event.type === "occupancy" &&
    state.phase === "connected" &&
    state.subscriptions.some((sub) => sub.room === event.room && sub.topic === "chat")
      ? { ...state, announced: state.announced + 1 }
      : state,

  idleLimitMs: (state) =>
    state.phase === "connected" && state.clientBeatMs > 0 ? idleLimitFor(state.clientBeatMs) : null,

  batch: (frames) => (frames.length === 0 ? [] : [frames.join("")]),
};
