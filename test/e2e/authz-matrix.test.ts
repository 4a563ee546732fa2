import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorld, forgedTokens, numericId, Recorder, request, type World } from "./authz-world";

/**
 * The authorization matrix (issue 16, item 3): every surface that reads or writes a room, a user's stream or a
 * user's presence, tried by every actor that has no right to it, against `wrangler dev`. A cell passes when the
 * surface refuses in its dialect's own way (`refused` matches what it answered) AND nothing it answered carries
 * the room's secret message, the whisper to its owner, a member's id or anyone's online state. A control cell
 * (a member of the room, or its owner where only the owner may) proves each attempt is well-formed: it must be
 * granted. Adding a dialect is adding rows to `surfaces`.
 */

type Kind = "membership" | "token" | "impostor" | "control";

interface Actor {
  name: string;
  kind: Kind;
  token: string;
  /** The user the actor is (the forged tokens name the room's owner). */
  self: string;
}

/** What a surface answered, reduced to a line such as `welcome error:forbidden close:4012`. */
interface Answer {
  signature: string;
  /** Everything received, for the leak check. */
  received: string;
  /** Everything sent: an echo of the request is not a leak. */
  sent: string;
}

type WorldName = "numeric" | "uuid";

interface Surface {
  name: string;
  /** Haraj needs numeric user ids, Swappart UUIDs with `aud: authenticated`; the rest run in the numeric world. */
  world?: WorldName;
  /** The membership and token actors try every row; a member naming another user only rows that name users. */
  impostor?: true;
  /** Who must be granted the same attempt: the room's `member` (default) or `owner`; null: no harmless control. */
  control?: "member" | "owner" | null;
  attempt(w: World, actor: Actor): Promise<Answer>;
  /** What the control cell must receive, proving the leak check on this surface looks where it matters. */
  reveals?: "secret" | "members";
  /**
   * Whether a non-member can tell an existing room from an unknown one here: "distinct" where the docs give
   * the two different answers (403 / 404, `forbidden` / `not_found`, `error-not-allowed` /
   * `error-invalid-room`), "hidden" where they are the same; absent where no room is named.
   */
  oracle?: "distinct" | "hidden";
  /** The refusal each kind of actor must get. */
  refused: Partial<Record<Kind, RegExp>> & { membership: RegExp; token: RegExp };
  /** What a granted attempt looks like: a control cell must show it. */
  granted: RegExp;
}

// ---- per-dialect ways of trying ----

async function http(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  read: (status: number, json: Record<string, unknown> | null) => string = v1Signature,
): Promise<Answer> {
  const reply = await request(method, path, token, body);
  return {
    signature: read(reply.status, reply.json),
    received: reply.text,
    sent: `${path} ${JSON.stringify(body ?? null)}`,
  };
}

const v1Signature = (status: number, json: Record<string, unknown> | null) => {
  const code = (json?.error as { code?: string } | undefined)?.code;
  return code ? `${status}:${code}` : String(status);
};

/** A socket script: what the recorder saw, signed by `describe`. */
async function socket(
  path: string,
  protocols: string[],
  script: (r: Recorder) => Promise<void>,
  describe: (frame: string) => string[],
  /** A frame after which the server closes the socket: the cell then waits for the close. */
  closing: (frame: string) => boolean,
): Promise<Answer> {
  const r = new Recorder(path, protocols);
  const sent: string[] = [path];
  const send = r.send.bind(r);
  r.send = (frame: string) => {
    sent.push(frame);
    send(frame);
  };
  if (await r.opened) await script(r);
  // A close that is on its way gets the time to arrive; otherwise a moment, for anything sent after the answer.
  await r.closed(r.transcript.frames.some(closing) ? 3000 : 150);
  r.end();
  const { frames, close, refusedUpgrade } = r.transcript;
  if (refusedUpgrade)
    return {
      signature: v1Signature(refusedUpgrade.status, json(refusedUpgrade.body)),
      received: refusedUpgrade.body,
      sent: sent.join("\n"),
    };
  const parts = frames.flatMap(describe);
  if (close && close.code !== 1005) parts.push(`close:${close.code}`);
  return { signature: parts.join(" "), received: frames.join("\n"), sent: sent.join("\n") };
}

const json = (frame: string): Record<string, unknown> => {
  try {
    return JSON.parse(frame) as Record<string, unknown>;
  } catch {
    return {};
  }
};

// Native (docs/protocol.md)
const native = (frame: string): string[] => {
  const f = json(frame);
  const events = f.type === "batch" ? (f.events as Record<string, unknown>[]) : [f];
  return events.map((e) => (e.type === "error" ? `error:${e.code}` : String(e.type)));
};
/** A send is answered by `ack` (correlated by temp_id), everything else by its `id`; errors answer anything. */
const answered = (id: string) => (frame: string) =>
  frame.includes(`"id":"${id}"`) || frame.includes('"error"') || frame.includes('"ack"');
/** A refused first-frame `auth` (and a room's refusal of it) closes the socket. */
const nativeClosing = (frame: string) => json(frame).type === "error" && json(frame).id === "auth";

/** The room socket, authenticated by a URL token or by a first `auth` frame. */
async function nativeRoomSocket(
  w: World,
  a: Actor,
  frame: Record<string, unknown>,
  via: "url" | "frame",
): Promise<Answer> {
  const query = via === "url" ? `?token=${a.token}` : "";
  return socket(
    `/v1/rooms/${w.room.key}/ws${query}`,
    ["parley.v1"],
    async (r) => {
      if (via === "frame") {
        r.send(JSON.stringify({ type: "auth", id: "auth", token: a.token }));
        if (!(await r.until((f) => f.includes('"welcome"')))) return;
      }
      r.send(JSON.stringify({ ...frame, id: "cmd" }));
      await r.until(answered("cmd"));
    },
    native,
    nativeClosing,
  );
}

/** The user socket authenticates in its first frame, through the Worker's first-frame gate. */
async function nativeUserSocket(_w: World, a: Actor, frame: Record<string, unknown>): Promise<Answer> {
  return socket(
    "/v1/ws",
    ["parley.v1"],
    async (r) => {
      r.send(JSON.stringify({ type: "auth", id: "auth", token: a.token }));
      if (!(await r.until((f) => f.includes('"welcome"')))) return;
      r.send(JSON.stringify({ ...frame, id: "cmd" }));
      await r.until(answered("cmd"));
    },
    native,
    nativeClosing,
  );
}

// STOMP (docs/dialects/stomp.md)
const stompFrame = (command: string, headers: Record<string, string>, body = "") =>
  `${command}\n${Object.entries(headers)
    .map(([k, v]) => `${k}:${v}`)
    .join("\n")}\n\n${body}\0`;

const stomp = (message: string): string[] =>
  message
    .split("\0")
    .map((f) => f.replace(/^\n+/, ""))
    .filter(Boolean)
    .map((f) => {
      const command = f.slice(0, f.indexOf("\n"));
      return command === "ERROR" ? `ERROR:${f.slice(f.indexOf("\n\n") + 2)}` : command;
    });

async function stompSocket(path: string, a: Actor, userid: string, frames: string[]): Promise<Answer> {
  return socket(
    path,
    ["v12.stomp"],
    async (r) => {
      r.send(stompFrame("CONNECT", { "accept-version": "1.2", host: "parley", token: a.token, userid }));
      if (!(await r.until((f) => f.startsWith("CONNECTED") || f.startsWith("ERROR")))) return;
      for (const f of frames) r.send(f);
      await r.until((f) => f.includes("RECEIPT") || f.includes("ERROR"));
    },
    stomp,
    (f) => f.includes("ERROR"),
  );
}

const subscribe = (destination: string) =>
  stompFrame("SUBSCRIBE", { id: "sub-0", destination, receipt: "r-1" });

const stompSend = (key: string, userId: string) =>
  stompFrame(
    "SEND",
    { destination: "/app/chat", "content-type": "application/json", receipt: "r-1" },
    JSON.stringify({
      channel_key: key,
      user: { id: userId },
      message_type: "MESSAGE",
      message: "intrusion",
    }),
  );

// Haraj (docs/dialects/haraj.md)
const haraj = (frame: string): string[] => {
  const f = json(frame);
  return f.status === undefined ? [] : [`${f.id}=${f.status}${f.err ? `:${f.err}` : ""}`];
};

const topicOf = (a: string, b: string) => {
  const [low, high] = [BigInt(a), BigInt(b)].sort((x, y) => (x < y ? -1 : 1));
  return `p2p${low}_${high}`;
};

async function harajSocket(a: Actor, command: Record<string, unknown>): Promise<Answer> {
  return socket(
    "/chat/ws",
    [],
    async (r) => {
      r.send(JSON.stringify({ auth: { id: "auth", access_token: a.token } }));
      if (!(await r.until((f) => f.includes('"auth"')))) return;
      r.send(JSON.stringify(command));
      await r.until((f) => f.includes('"cmd"'));
    },
    haraj,
    () => false,
  );
}

/** Haraj's send names a topic: the non-members try the owner's with the member, the impostor the owner's with friend. */
const harajTopic = (w: World, a: Actor) =>
  a.kind === "impostor" ? topicOf(w.ids.owner, w.ids.friend) : topicOf(w.ids.owner, w.ids.member);

// ActionCable (docs/dialects/actioncable.md)
const actionCable = (frame: string): string[] => {
  const f = json(frame);
  if (f.type === "ping") return [];
  if (f.type === "disconnect") return [`disconnect:${f.reason}`];
  if (f.type) return [String(f.type)];
  const message = f.message as { event?: string; data?: { code?: string } } | undefined;
  return message?.event === "error" ? [`error:${message.data?.code}`] : ["broadcast"];
};

async function cable(a: Actor, identifier: Record<string, unknown>): Promise<Answer> {
  return socket(
    `/cable?token=${a.token}`,
    ["actioncable-v1-json", "actioncable-unsupported"],
    async (r) => {
      if (!(await r.until((f) => f.includes('"welcome"')))) return;
      r.send(JSON.stringify({ command: "subscribe", identifier: JSON.stringify(identifier) }));
      await r.until((f) => f.includes("_subscription"));
    },
    actionCable,
    (f) => json(f).type === "disconnect",
  );
}

const numeric = (id: string) => Number(id);

// DDP (docs/dialects/ddp.md)
const ddp = (frame: string): string[] => {
  const f = json(frame);
  const code = (f.error as { error?: unknown } | undefined)?.error;
  switch (f.msg) {
    case "connected":
    case "ready":
      return [String(f.msg)];
    case "nosub":
      return [`nosub:${code ?? ""}`];
    case "result":
      return [`${f.id}:${code ?? "ok"}`];
    case "error":
      return [`error:${f.reason}`];
    default:
      return [];
  }
};

async function ddpSession(a: Actor, request: Record<string, unknown>): Promise<Answer> {
  return socket(
    "/websocket",
    [],
    async (r) => {
      r.send(JSON.stringify({ msg: "connect", version: "1", support: ["1"] }));
      if (!(await r.until((f) => f.includes('"connected"')))) return;
      r.send(JSON.stringify({ msg: "method", id: "login", method: "login", params: [{ resume: a.token }] }));
      if (!(await r.until((f) => f.includes('"result"') && f.includes('"login"')))) return;
      r.send(JSON.stringify({ ...request, id: "cmd" }));
      await r.until((f) => f.includes('"cmd"'));
    },
    ddp,
    () => false,
  );
}

// Swappart (docs/dialects/swappart.md)
const swappart = (frame: string): string[] => {
  const f = json(frame);
  const data = f.data as { confirmed?: boolean; code?: number; reason?: string } | undefined;
  if (f.type === "MessageSentConfirmation")
    return [`confirmed:${data?.confirmed}${data?.reason ? `(${data.reason})` : ""}`];
  if (f.type === "Disconnection") return [`Disconnection:${data?.code}`];
  return [String(f.type)];
};

const envelope = (status: number, body: Record<string, unknown> | null) =>
  `${status}${body?.error_message ? ":error_message" : ""}`;

// ---- the rows ----

const TOKEN_REFUSED = /^401:(invalid_token|token_expired|unauthorized)$/;
const NATIVE_TOKEN_REFUSED = /^(error:(invalid_token|token_expired) )?close:4002$/;
/** A user socket first gets the user's own kept room-list events (the rooms they were added to, left, opened). */
const OWN_EVENTS_THEN_FORBIDDEN = /^welcome( room_(added|removed))* error:forbidden$/;

const room = (w: World) => `/v1/rooms/${w.room.key}`;
const secretPath = (w: World) => `${room(w)}/messages/${w.secretId}`;

const surfaces: Surface[] = [
  // HTTP API v1: 401 for a refused token, 403 for a room one may not read (docs/http-api.md).
  ...(
    [
      ["GET room view", "GET", (w) => room(w)],
      ["GET history", "GET", (w) => `${room(w)}/messages`],
      ["POST messages", "POST", (w) => `${room(w)}/messages`, () => ({ text: "intrusion", temp_id: "x" })],
      ["PUT reaction", "PUT", (w) => `${secretPath(w)}/reactions/:tada:`],
      ["PUT read marker", "PUT", (w) => `${room(w)}/read`, () => ({})],
      ["GET search room=", "GET", (w) => `/v1/search?q=${w.secret}&room=${w.room.key}`],
    ] as [string, string, (w: World) => string, (() => unknown)?][]
  ).map(
    ([name, method, path, body]): Surface => ({
      name: `HTTP ${name}`,
      oracle: "distinct",
      reveals: name === "GET room view" ? "members" : name.startsWith("GET") ? "secret" : undefined,
      attempt: (w, a) => http(method, path(w), a.token, body?.()),
      refused: { membership: /^403:forbidden$/, token: TOKEN_REFUSED },
      granted: /^20\d$/,
    }),
  ),
  {
    name: "HTTP POST members (adding oneself)",
    oracle: "distinct",
    control: "owner",
    attempt: (w, a) => http("POST", `${room(w)}/members`, a.token, { user_ids: [a.self] }),
    refused: { membership: /^403:forbidden$/, token: TOKEN_REFUSED },
    granted: /^200$/,
  },
  {
    name: "HTTP PATCH message (edit)",
    oracle: "distinct",
    // The owner's edit to the same text changes nothing.
    control: "owner",
    attempt: (w, a) => http("PATCH", secretPath(w), a.token, { text: w.secretText }),
    refused: { membership: /^403:forbidden$/, token: TOKEN_REFUSED },
    granted: /^200$/,
  },
  {
    name: "HTTP DELETE message",
    oracle: "distinct",
    control: null,
    attempt: (w, a) => http("DELETE", secretPath(w), a.token),
    refused: { membership: /^403:forbidden$/, token: TOKEN_REFUSED },
    granted: /^20\d$/,
  },
  // What is one's own answers, but shows nothing of rooms one may not read.
  ...(
    [
      ["GET search (all my rooms)", (w) => `/v1/search?q=${w.secret}`],
      ["GET rooms (my list)", () => "/v1/rooms"],
      ["GET me/notifications (mentioned in the room)", () => "/v1/me/notifications"],
      ["GET me", () => "/v1/me"],
    ] as [string, (w: World) => string][]
  ).map(
    ([name, path]): Surface => ({
      name: `HTTP ${name}`,
      attempt: (w, a) => http("GET", path(w), a.token),
      refused: { membership: /^200$/, token: TOKEN_REFUSED },
      granted: /^200$/,
    }),
  ),

  // Native room socket. A URL token is checked at the upgrade: refused there with the HTTP error shape when the
  // room says no, closed at once with 4002 when the token is bad. A first-frame `auth` reaches the room object.
  {
    name: "native room socket upgrade with a URL token, then subscribe",
    oracle: "distinct",
    attempt: (w, a) => nativeRoomSocket(w, a, { type: "subscribe" }, "url"),
    refused: { membership: /^403:forbidden$/, token: NATIVE_TOKEN_REFUSED },
    granted: /subscribed/,
  },
  ...(
    [
      ["subscribe", { type: "subscribe" }],
      ["send", { type: "send", temp_id: "x", text: "intrusion" }],
      ["history", { type: "history" }],
    ] as const
  ).map(
    ([name, frame]): Surface => ({
      name: `native room socket first-frame auth, then ${name}`,
      oracle: "distinct",
      reveals: name === "history" ? "secret" : undefined,
      attempt: (w, a) => nativeRoomSocket(w, a, frame, "frame"),
      // The room refuses the `auth` frame of a valid token that may not enter: close 4012 (docs/protocol.md).
      refused: { membership: /^error:forbidden close:4012$/, token: NATIVE_TOKEN_REFUSED },
      granted: /subscribed|ack|history/,
    }),
  ),
  // Native user socket, first-frame `auth` (error, then close 4002, when refused).
  ...(
    [
      ["subscribe", (w: World) => ({ type: "subscribe", room: w.room.key })],
      ["send", (w: World) => ({ type: "send", room: w.room.key, temp_id: "x", text: "intrusion" })],
      ["history", (w: World) => ({ type: "history", room: w.room.key })],
    ] as const
  ).map(
    ([name, frame]): Surface => ({
      name: `native user socket ${name}`,
      oracle: "distinct",
      reveals: name === "history" ? "secret" : undefined,
      attempt: (w, a) => nativeUserSocket(w, a, frame(w)),
      refused: { membership: OWN_EVENTS_THEN_FORBIDDEN, token: NATIVE_TOKEN_REFUSED },
      granted: /subscribed|ack|history/,
    }),
  ),
  {
    name: "native user socket watch the owner (presence without consent)",
    attempt: (w, a) => nativeUserSocket(w, a, { type: "watch", user: w.ids.owner }),
    refused: { membership: OWN_EVENTS_THEN_FORBIDDEN, token: NATIVE_TOKEN_REFUSED },
    granted: /watching/,
  },

  // STOMP: ERROR with the code as body, then the close (docs/dialects/stomp.md).
  {
    name: "STOMP room endpoint subscribe /topic/chat (impostor: CONNECT userid of the owner)",
    oracle: "distinct",
    impostor: true,
    attempt: (w, a) =>
      stompSocket(`/v1/rooms/${w.room.key}/stomp`, a, a.kind === "impostor" ? w.ids.owner : a.self, [
        subscribe(`/topic/chat/${w.room.key}`),
      ]),
    refused: {
      membership: /^(CONNECTED )?ERROR:forbidden close:4012$/,
      token: /^ERROR:(invalid_token|token_expired) close:4002$/,
      impostor: /^ERROR:invalid_token close:4002$/,
    },
    granted: /RECEIPT/,
  },
  {
    name: "STOMP user endpoint subscribe /topic/chat",
    oracle: "distinct",
    attempt: (w, a) => stompSocket("/v1/stomp", a, a.self, [subscribe(`/topic/chat/${w.room.key}`)]),
    refused: {
      membership: /^CONNECTED ERROR:forbidden close:4012$/,
      token: /^ERROR:(invalid_token|token_expired) close:4002$/,
    },
    granted: /RECEIPT/,
  },
  {
    name: "STOMP user endpoint subscribe the owner's DM topic (others: their own, of the room)",
    oracle: "distinct",
    impostor: true,
    attempt: (w, a) =>
      stompSocket("/v1/stomp", a, a.self, [
        subscribe(`/topic/dm/${w.room.key}/user/${a.kind === "impostor" ? w.ids.owner : a.self}`),
      ]),
    refused: {
      membership: /^CONNECTED ERROR:forbidden close:4012$/,
      token: /^ERROR:(invalid_token|token_expired) close:4002$/,
      impostor: /^CONNECTED ERROR:forbidden close:4012$/,
    },
    granted: /RECEIPT/,
  },
  {
    name: "STOMP user endpoint SEND /app/chat (impostor: user.id of the owner)",
    oracle: "distinct",
    impostor: true,
    attempt: (w, a) =>
      stompSocket("/v1/stomp", a, a.self, [
        stompSend(w.room.key, a.kind === "impostor" ? w.ids.owner : a.self),
      ]),
    refused: {
      membership: /^CONNECTED ERROR:forbidden close:4012$/,
      token: /^ERROR:(invalid_token|token_expired) close:4002$/,
      impostor: /^CONNECTED ERROR:forbidden close:4012$/,
    },
    granted: /RECEIPT/,
  },

  // Haraj: reply packets with the HTTP-like status (docs/dialects/haraj.md).
  {
    name: "Haraj listen to the owner (presence without consent)",
    attempt: (w, a) => harajSocket(a, { listen: { id: "cmd", peer_id: numeric(w.ids.owner) } }),
    refused: {
      membership: /^auth=200 cmd=403:ERR_FORBIDDEN_ACCESS$/,
      token: /^auth=401:ERR_INVALID_ACCESS_TOKEN cmd=401:ERR_INVALID_ACCESS_TOKEN$/,
    },
    granted: /cmd=200/,
  },
  {
    name: "Haraj socket send to another pair's topic",
    impostor: true,
    attempt: (w, a) =>
      harajSocket(a, { send: { id: "cmd", topic_id: harajTopic(w, a), text: "intrusion", temp_id: "x" } }),
    refused: {
      membership: /^auth=200 cmd=403:ERR_FORBIDDEN_ACCESS$/,
      token: /^auth=401:ERR_INVALID_ACCESS_TOKEN cmd=401:ERR_INVALID_ACCESS_TOKEN$/,
      impostor: /^auth=200 cmd=403:ERR_FORBIDDEN_ACCESS$/,
    },
    granted: /cmd=200/,
  },
  {
    name: "Haraj HTTP POST /chat/messages to another pair's topic",
    impostor: true,
    attempt: (w, a) =>
      http("POST", "/chat/messages", a.token, { topic_id: harajTopic(w, a), text: "intrusion" }, (s, b) =>
        [s, b?.err].filter(Boolean).join(":"),
      ),
    refused: {
      membership: /^403:ERR_FORBIDDEN_ACCESS$/,
      token: /^401:ERR_INVALID_ACCESS_TOKEN$/,
      impostor: /^403:ERR_FORBIDDEN_ACCESS$/,
    },
    granted: /^200$/,
  },

  // Swappart: Supabase-style tokens; a refused send is confirmed:false and a 4012 close (docs/dialects/swappart.md).
  {
    name: "Swappart socket SendMessage",
    // The confirmation's reason says why: not a member, or no such room (as HTTP's 403 / 404 do).
    oracle: "distinct",
    world: "uuid",
    attempt: (w, a) =>
      socket(
        `/?token=${a.token}`,
        [],
        async (r) => {
          r.send(
            JSON.stringify({
              type: "SendMessage",
              data: { room_id: w.room.number, message: "intrusion", message_temp_id: "x" },
            }),
          );
          await r.until((f) => f.includes("MessageSentConfirmation"));
        },
        swappart,
        (f) => json(f).type === "Disconnection",
      ),
    refused: {
      membership: /^confirmed:false\(.+\) Disconnection:4012 close:4012$/,
      token: /^Disconnection:4002 close:4002$/,
    },
    granted: /confirmed:true/,
  },
  {
    name: "Swappart HTTP GET /rooms/:id",
    oracle: "distinct",
    reveals: "secret",
    world: "uuid",
    attempt: (w, a) => http("GET", `/rooms/${w.room.number}`, a.token, undefined, envelope),
    refused: { membership: /^403:error_message$/, token: /^401:error_message$/ },
    granted: /^200$/,
  },

  // ActionCable: reject_subscription; a refused token is disconnect unauthorized and 4002.
  {
    name: "ActionCable subscribe Chats::RoomChannel",
    oracle: "hidden",
    attempt: (w, a) => cable(a, { channel: "Chats::RoomChannel", chat_room_uuid: w.room.key }),
    refused: { membership: /^welcome reject_subscription$/, token: /^disconnect:unauthorized close:4002$/ },
    granted: /confirm_subscription/,
  },
  {
    name: "ActionCable subscribe ChatRoomChannel with the owner's community_member_id",
    impostor: true,
    attempt: (w, a) =>
      cable(a, {
        channel: "ChatRoomChannel",
        community_member_id: numeric(a.kind === "control" ? a.self : w.ids.owner),
      }),
    refused: {
      membership: /^welcome reject_subscription$/,
      token: /^disconnect:unauthorized close:4002$/,
      impostor: /^welcome reject_subscription$/,
    },
    granted: /confirm_subscription/,
  },

  // DDP: a refused login is error 403 and the session stays anonymous; refusals are nosub / Meteor errors.
  {
    name: "DDP sub stream-room-messages",
    oracle: "hidden",
    attempt: (w, a) =>
      ddpSession(a, { msg: "sub", name: "stream-room-messages", params: [w.room.key, false] }),
    refused: {
      membership: /^connected login:ok nosub:not-allowed$/,
      token: /^connected login:403 nosub:not-allowed$/,
    },
    granted: /ready/,
  },
  {
    name: "DDP sub stream-notify-user of the owner",
    impostor: true,
    attempt: (w, a) =>
      ddpSession(a, {
        msg: "sub",
        name: "stream-notify-user",
        params: [`${a.kind === "control" ? a.self : w.ids.owner}/notification`, false],
      }),
    refused: {
      membership: /^connected login:ok nosub:not-allowed$/,
      token: /^connected login:403 nosub:not-allowed$/,
      impostor: /^connected login:ok nosub:not-allowed$/,
    },
    granted: /ready/,
  },
  {
    name: "DDP method sendMessage",
    oracle: "distinct",
    attempt: (w, a) =>
      ddpSession(a, {
        msg: "method",
        method: "sendMessage",
        params: [{ _id: `intrusion-${a.self.slice(-6)}`, rid: w.room.key, msg: "intrusion" }],
      }),
    refused: {
      membership: /^connected login:ok cmd:error-not-allowed$/,
      token: /^connected login:403 cmd:error-invalid-user$/,
    },
    granted: /cmd:ok/,
  },
  {
    name: "DDP method loadHistory",
    oracle: "distinct",
    reveals: "secret",
    attempt: (w, a) =>
      ddpSession(a, { msg: "method", method: "loadHistory", params: [w.room.key, null, 20, null] }),
    refused: {
      membership: /^connected login:ok cmd:error-not-allowed$/,
      token: /^connected login:403 cmd:error-invalid-user$/,
    },
    granted: /cmd:ok/,
  },
];

// ---- the actors ----

const MEMBERSHIP = { "non-member": "outsider", banned: "banned", removed: "removed" } as const;

function actorsOf(w: World, surface: Surface): Promise<Actor[]> {
  const token = Object.entries(forgedTokens).map(async ([name, forge]) => ({
    name,
    kind: "token" as const,
    token: await forge(w.ids.owner, w.claims),
    self: w.ids.owner,
  }));
  const membership = Object.entries(MEMBERSHIP).map(([name, who]) => ({
    name,
    kind: "membership" as const,
    token: w.tokens[who],
    self: w.ids[who],
  }));
  const others: Actor[] = [];
  if (surface.impostor)
    others.push({ name: "another user's id", kind: "impostor", token: w.tokens.member, self: w.ids.member });
  if (surface.control !== null) {
    const who = surface.control ?? "member";
    others.push({ name: `control: ${who}`, kind: "control", token: w.tokens[who], self: w.ids[who] });
  }
  return Promise.all(token).then((t) => [...membership, ...t, ...others]);
}

/** What must never show up in a refused cell's answers, unless the cell itself sent it. */
function leaksIn(w: World, a: Actor, answer: Answer): string[] {
  const markers = [w.secret, w.whisper, w.ids.member, '"online":', '"is_online":'];
  return markers.filter((m) => m !== a.self && !answer.sent.includes(m) && answer.received.includes(m));
}

// ---- the run ----

const worlds = {} as Record<WorldName, World>;
const results: { surface: string; actor: string; signature: string }[] = [];

beforeAll(async () => {
  const [numericWorld, uuidWorld] = await Promise.all([
    buildWorld(numericId),
    buildWorld(() => crypto.randomUUID(), { aud: "authenticated", role: "authenticated" }),
  ]);
  worlds.numeric = numericWorld;
  worlds.uuid = uuidWorld;
  // The search rows mean something only once the secret is searchable (D1 trails the room by one flush).
  const deadline = Date.now() + 10_000;
  while (
    !(await http("GET", `/v1/search?q=${numericWorld.secret}`, numericWorld.tokens.owner)).received.includes(
      numericWorld.secret,
    )
  ) {
    if (Date.now() > deadline) throw new Error("the owner never found the secret by search");
    await new Promise((r) => setTimeout(r, 200));
  }
}, 60_000);

afterAll(() => {
  const refused = results.filter((r) => !r.actor.startsWith("control"));
  console.log(
    `authorization matrix: ${surfaces.length} surfaces, ${refused.length} refused cells, ` +
      `${results.length - refused.length} control cells\n` +
      results.map((r) => `${r.surface} | ${r.actor} | ${r.signature}`).join("\n"),
  );
});

for (const surface of surfaces) {
  const worldName = surface.world ?? "numeric";
  describe(surface.name, () => {
    it("refuses every actor without the right, in its own way, leaking nothing", async () => {
      const w = worlds[worldName];
      const actors = await actorsOf(w, surface);
      const cells = await Promise.all(actors.map(async (a) => ({ a, answer: await surface.attempt(w, a) })));
      const failures: string[] = [];
      for (const { a, answer } of cells) {
        results.push({ surface: surface.name, actor: a.name, signature: answer.signature });
        if (a.kind === "control") {
          if (!surface.granted.test(answer.signature))
            failures.push(`${a.name}: expected granted, got "${answer.signature}"`);
          const shown = { secret: w.secret, members: w.ids.friend }[surface.reveals ?? "secret"];
          if (surface.reveals && !answer.received.includes(shown))
            failures.push(`${a.name}: the granted answer shows no ${surface.reveals}`);
          continue;
        }
        const expected = surface.refused[a.kind] ?? surface.refused.membership;
        if (!expected.test(answer.signature))
          failures.push(`${a.name}: expected ${expected}, got "${answer.signature}"`);
        const leaks = leaksIn(w, a, answer);
        if (leaks.length > 0) failures.push(`${a.name}: leaked ${leaks.join(", ")}`);
      }
      expect(failures).toEqual([]);
    });
  });
}

describe("existence oracle: a non-member's answer for an existing room and for an unknown one", () => {
  it("differs only where the docs say it does, and an unknown room is never granted", async () => {
    const rows: string[] = [];
    const failures: string[] = [];
    for (const surface of surfaces.filter((s) => s.oracle)) {
      const w = worlds[surface.world ?? "numeric"];
      const unknown: World = { ...w, room: { key: `authz-unknown-${w.room.number}`, number: 9_000_000_000 } };
      const outsider: Actor = {
        name: "non-member",
        kind: "membership",
        token: w.tokens.outsider,
        self: w.ids.outsider,
      };
      // One after the other: a second Swappart socket of the same user would replace the first (4008).
      const known = await surface.attempt(w, outsider);
      const missing = await surface.attempt(unknown, outsider);
      rows.push(`${surface.name} | ${known.signature} | ${missing.signature} | ${surface.oracle}`);
      if (surface.granted.test(missing.signature))
        failures.push(`${surface.name}: an unknown room was granted: "${missing.signature}"`);
      if (surface.oracle === "hidden" && known.signature !== missing.signature)
        failures.push(`${surface.name}: "${known.signature}" vs "${missing.signature}"`);
      if (surface.oracle === "distinct" && known.signature === missing.signature)
        failures.push(`${surface.name}: the docs give two answers, both were "${known.signature}"`);
    }
    console.log(`existence oracle (surface | existing | unknown | docs):\n${rows.join("\n")}`);
    expect(failures).toEqual([]);
  });
});
