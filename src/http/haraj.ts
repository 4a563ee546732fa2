import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { tokenFromRequest, verifyChatToken } from "../auth/jwt";
import type { SessionContext } from "../dialects/codec";
import { harajCodec } from "../dialects/haraj/codec";
import { harajError, harajReply, INVALID_ACCESS_TOKEN } from "../dialects/haraj/packets";
import { type Env, jwtConfigOf, limitsOf } from "../env";
import { type DispatchedCommand, dispatch } from "../rooms/dispatch";

/**
 * Haraj clients send through HTTP (the seed's socket only streams). Each endpoint takes the body of the socket
 * command of the same name, runs it through the Haraj codec and the user's object exactly as the socket does,
 * and answers with the reply packet the socket would send, its `status` as the HTTP status.
 */
export const harajRoutes = new Hono<{ Bindings: Env }>();

const ENDPOINTS = {
  "/chat/messages": "send",
  "/chat/reads": "read",
  "/chat/typing": "typing",
  "/chat/stop_typing": "stop_typing",
} as const;

harajRoutes.use("/chat/*", (c, next) => {
  const maxSize = limitsOf(c.env).maxFrameBytes;
  const tooLarge = harajError({ code: "payload_too_large", message: `body is larger than ${maxSize} bytes` });
  return bodyLimit({ maxSize, onError: () => packetResponse(harajReply(null, tooLarge, new Date())) })(
    c,
    next,
  );
});

for (const [path, verb] of Object.entries(ENDPOINTS)) {
  harajRoutes.post(path, async (c) => {
    const now = () => new Date();
    const token = tokenFromRequest(c.req.raw);
    const identity = token ? await verifyChatToken(jwtConfigOf(c.env), token) : null;
    if (!identity?.ok) return packetResponse(harajReply(null, INVALID_ACCESS_TOKEN, now()));
    const user = identity.value.user;
    const ctx: SessionContext = {
      sessionId: `http:${crypto.randomUUID()}`,
      user,
      room: null,
      maxFrameBytes: limitsOf(c.env).maxFrameBytes,
      now,
      // Direct rooms are named by their users; Haraj needs nothing else known about a room.
      roomInfo: () => null,
    };
    const body = await c.req.json().catch(() => null);
    const frame = JSON.stringify({
      [verb]: { id: "http", ...(typeof body === "object" && body ? body : {}) },
    });
    const decoded = harajCodec.decode(harajCodec.initialState(ctx), frame, ctx);
    const tagged = decoded.commands[0];
    if (!tagged) return packetResponse(decoded.replies[0]);
    // The Haraj frames these endpoints take decode only into room commands and direct sends.
    const outcome = await dispatch(c.env, user, tagged.command as DispatchedCommand);
    const answer = harajCodec.encodeOutcome(decoded.state, tagged.tag, tagged.command, outcome, ctx);
    return packetResponse(answer.frames[0]);
  });
}

function packetResponse(packet: string | undefined): Response {
  const status = packet ? ((JSON.parse(packet) as { status?: number }).status ?? 500) : 500;
  return new Response(packet ?? '{"status":500,"err":"ERR_SERVER_INTERNAL_ERROR"}', {
    status,
    headers: { "content-type": "application/json" },
  });
}
