import type { StreamPosition } from "../../domain/positions";

/** The ActionCable wire: subprotocols, the server's frames and the JSON limits of the client's. */

/** Rails' protocol, offered by @rails/actioncable (with `actioncable-unsupported`) and @anycable/core. */
export const ACTIONCABLE_SUBPROTOCOL = "actioncable-v1-json";
/** AnyCable's extended protocol: session resumption, stream positions and history. */
export const ACTIONCABLE_EXT_SUBPROTOCOL = "actioncable-v1-ext-json";
/** @anycable/core's `websocketAuthStrategy: "sub-protocol"` offers the token as `anycable-token.<token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = "anycable-token.";

/** Rails' server sends a ping every 3 s; the clients count a connection stale after 6 s of silence. */
export const PING_INTERVAL_MS = 3000;

/** The reasons of a `disconnect` message, Rails' (`ActionCable::INTERNAL`) and AnyCable's `idle_timeout`. */
export type DisconnectReason =
  | "unauthorized"
  | "invalid_request"
  | "server_restart"
  | "remote"
  | "idle_timeout";

export const welcomeFrame = (session: { sid: string; restoredIds: string[] | null } | null): string =>
  JSON.stringify(
    session === null
      ? { type: "welcome" }
      : session.restoredIds === null
        ? { type: "welcome", sid: session.sid }
        : { type: "welcome", sid: session.sid, restored: true, restored_ids: session.restoredIds },
  );

export const pingFrame = (now: Date): string =>
  JSON.stringify({ type: "ping", message: Math.floor(now.getTime() / 1000) });

export const disconnectFrame = (reason: DisconnectReason, reconnect: boolean): string =>
  JSON.stringify({ type: "disconnect", reason, reconnect });

type IdentifierFrameType =
  | "confirm_subscription"
  | "reject_subscription"
  | "confirm_history"
  | "reject_history";

/** A frame about one subscription; the identifier is echoed as the client sent it. */
export const identifierFrame = (identifier: string, type: IdentifierFrameType): string =>
  JSON.stringify({ identifier, type });

/** The channel's message `{event, data}`, the envelope every event of the platform uses. */
export interface ChannelMessage {
  event: string;
  data: unknown;
}

/** A broadcast; on the extended protocol, durable room events carry their stream position. */
export function dataFrame(
  identifier: string,
  message: ChannelMessage,
  position: (StreamPosition & { stream: string }) | null,
): string {
  if (position === null) return JSON.stringify({ identifier, message });
  return JSON.stringify({
    identifier,
    message,
    stream_id: position.stream,
    epoch: position.epoch,
    offset: position.seq,
  });
}

/** The extended protocol's answer to a presence request Parley does not serve, so the client stops waiting. */
export const presenceErrorFrame = (identifier: string): string =>
  JSON.stringify({ type: "presence", identifier, message: { type: "error" } });

/** Nesting allowed in any JSON a client sends (the frame, its identifier, its action data). */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests no deeper than `max` arrays and objects, walked without recursion. */
function withinDepth(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

/** A JSON object of bounded depth, or null for anything else (not JSON, too deep, not an object). */
export function parseObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  return isObject && withinDepth(value, MAX_JSON_DEPTH) ? (value as Record<string, unknown>) : null;
}
