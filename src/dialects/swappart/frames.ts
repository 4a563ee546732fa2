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
