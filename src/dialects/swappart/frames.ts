import type { Close } from "../codec";

/**
 * The server frames of the Swappart socket (seed 002): `{"type": <ResponseType>, "data": ...}`. Room ids are
 * the rooms' numbers and user ids the Supabase ids.
 */

export interface MessageReceived {
  room_id: number;
  sender_id: string;
  message: string;
}

export interface MessageSentConfirmation {
  confirmed: boolean;
  /** Empty when confirmed, the refusal otherwise. */
  reason: string;
  /** The client's `message_temp_id`, echoed so it can match the confirmation to its pending message. */
  message_id: string;
}

export const messageReceivedFrame = (data: MessageReceived): string =>
  JSON.stringify({ type: "MessageReceived", data });

export const confirmationFrame = (data: MessageSentConfirmation): string =>
  JSON.stringify({ type: "MessageSentConfirmation", data });

export const disconnectionFrame = (close: Close): string =>
  JSON.stringify({ type: "Disconnection", data: { code: close.code, reason: close.reason } });

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

/** `reason` cut to what a close frame can carry, on a code point boundary. */
export function closeReason(reason: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES) return reason;
  let kept = "";
  let bytes = 0;
  for (const char of reason) {
    bytes += encoder.encode(char).byteLength;
    if (bytes > MAX_CLOSE_REASON_BYTES) break;
    kept += char;
  }
  return kept;
}
