import { z } from "zod";
import { CloseCode } from "../../domain/close-codes";
import type { Command } from "../../domain/commands";
import type { ChatError } from "../../domain/errors";
import { closeReason } from "../../domain/errors";
import { firstIssue, tempIdSchema } from "../../domain/validation";
import type { Close, Codec, Decoded } from "../codec";
import { frameBytes, frameText } from "../frame-text";
import { verifySwappartToken } from "./auth";
import { confirmationFrame, disconnectionFrame, messageReceivedFrame } from "./frames";
import { roomNumberSchema } from "./requests";

/** Swappart sessions keep no state of their own: a send is answered from its tag alone. */
export type SwappartState = null;

/** A send's answer echoes the client's temp id as `message_id`. */
export interface SwappartTag {
  temp_id: string;
}

/** Deeper JSON than this is refused before parsing; Swappart frames nest two levels. */
export const MAX_JSON_DEPTH = 32;

/** The one client frame (seed 002, `SendMessage` with `MsgSendData`). Unknown fields are ignored. */
const frameSchema = z.object({
  type: z.literal("SendMessage"),
  data: z.object({
    room_id: roomNumberSchema,
    message: z.string(),
    message_temp_id: tempIdSchema,
  }),
});

/** The seed's descriptions of the close codes the codec chooses itself. */
const CLOSES = {
  noAuthToken: { code: CloseCode.NoAuthToken, reason: "No authentication token provided" },
  invalidToken: { code: CloseCode.InvalidToken, reason: "Token validation failed" },
  serverError: { code: CloseCode.ServerError, reason: "Server error occurred" },
  hatefulSpeech: {
    code: CloseCode.HatefulSpeech,
    reason: "Hateful speech or fake information is not permitted on Swappart",
  },
  unauthorizedAction: {
    code: CloseCode.UnauthorizedAction,
    reason: "User did something unauthorized within the chat",
  },
} satisfies Record<string, Close>;

/** Whether `text` nests arrays and objects no deeper than `limit`, counting only brackets outside strings. */
export function nestsWithin(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "[" || char === "{") {
      depth++;
      if (depth > limit) return false;
    } else if (char === "]" || char === "}") depth--;
  }
  return true;
}

/** The frame's JSON, or why it is not a Swappart frame. */
function parseFrame(
  raw: string | ArrayBuffer,
  maxFrameBytes: number,
): { json: unknown } | { problem: string } {
  if (frameBytes(raw) > maxFrameBytes) return { problem: `frame is larger than ${maxFrameBytes} bytes` };
  const text = frameText(raw);
  if (text === null) return { problem: "frame is not UTF-8" };
  if (!nestsWithin(text, MAX_JSON_DEPTH)) return { problem: `JSON nests deeper than ${MAX_JSON_DEPTH}` };
  try {
    return { json: JSON.parse(text) };
  } catch {
    return { problem: "frame is not JSON" };
  }
}

/** Bad structure ends the session (4010); the Disconnection frame is the host's, from `closeFrames`. */
function badStructure(problem: string): Decoded<SwappartState, SwappartTag> {
  return {
    state: null,
    commands: [],
    replies: [],
    close: { code: CloseCode.BadMessageStructure, reason: closeReason(`Bad message structure: ${problem}`) },
  };
}

/** The close a refused send leads to, when the seed's codes say it ends the session. */
function closeAfter(error: ChatError): Close | undefined {
  switch (error.code) {
    case "forbidden":
    case "not_found":
      return CLOSES.unauthorizedAction;
    case "content_refused":
      return error.close === false ? undefined : CLOSES.hatefulSpeech;
    case "unauthorized":
    case "invalid_token":
    case "token_expired":
      return CLOSES.invalidToken;
    case "internal":
      return CLOSES.serverError;
    case "bad_request":
    case "payload_too_large":
    case "rate_limited":
    case "conflict":
      return undefined;
  }
}

/**
 * The Swappart (PLIC-Chat) socket (seed 002) at `/?token=<Supabase access token>`: `SendMessage` in, answered
 * by `MessageSentConfirmation`; `MessageReceived` for the other participants' messages in every room of the
 * user; a `Disconnection` frame before every close the server starts. See docs/dialects/swappart.md.
 */
export const swappartCodec: Codec<SwappartState, SwappartTag> = {
  name: "swappart",
  endpoints: [{ path: "/", scope: "user" }],
  auth: "url",
  verifyToken: verifySwappartToken,
  // Swappart names no subprotocol ("standard websocket"); whatever a client offers is left unanswered.
  chooseSubprotocol: () => null,
  initialFollows: ["rooms"],
  initialState: () => null,
  closeFrames: (_state, close) => [disconnectionFrame(close)],
  decode(state, raw, ctx) {
    const parsed = parseFrame(raw, ctx.maxFrameBytes);
    if ("problem" in parsed) return badStructure(parsed.problem);
    const frame = frameSchema.safeParse(parsed.json);
    if (!frame.success) return badStructure(firstIssue(frame.error));
    // A URL-authenticated session always has its user; without one there is no token to speak of.
    if (!ctx.user) return { state, commands: [], replies: [], close: CLOSES.noAuthToken };
    const { room_id, message, message_temp_id } = frame.data.data;
    const command: Command = {
      kind: "send",
      room: { number: room_id },
      draft: { temp_id: message_temp_id, text: message },
    };
    return { state, commands: [{ command, tag: { temp_id: message_temp_id } }], replies: [] };
  },
  encodeOutcome(state, tag, _command, outcome) {
    if (outcome.ok) {
      // A resent temp id comes back as a duplicate of the stored message: confirmed again.
      if (outcome.value.kind !== "sent") return { state, frames: [] };
      return { state, frames: [confirmationFrame({ confirmed: true, reason: "", message_id: tag.temp_id })] };
    }
    const refusal = confirmationFrame({
      confirmed: false,
      reason: outcome.error.message,
      message_id: tag.temp_id,
    });
    const close = closeAfter(outcome.error);
    return close ? { state, frames: [refusal], close } : { state, frames: [refusal] };
  },
  encodeEvent(_state, event, ctx) {
    if (event.type !== "message" || !ctx.user) return [];
    const { message } = event;
    const me = ctx.user.id;
    // The sender has its confirmation; Swappart has no message kinds but text and no deletion to show.
    if (message.sender.id === me || message.type !== "text" || message.deleted_at !== null) return [];
    if (message.to !== null && message.to !== me) return [];
    const room = ctx.roomInfo(event.room);
    if (!room) return [];
    return [
      messageReceivedFrame({ room_id: room.number, sender_id: message.sender.id, message: message.text }),
    ];
  },
  /** The seed defines no client keepalive, so only a closed connection ends a Swappart session. */
  idleLimitMs: () => null,
  /** Swappart clients read one JSON frame per WebSocket message. */
  batch: (frames) => frames,
};
