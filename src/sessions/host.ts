import type { DialectName, SessionContext } from "../dialects/codec";
import { codecFor } from "../dialects/registry";
import { CloseCode } from "../domain/close-codes";
import type { Command, CommandOutcome } from "../domain/commands";
import type { ChatEvent, RoomEvent } from "../domain/events";
import { eventVisibleTo, isDurable } from "../domain/events";
import type { Profile } from "../domain/model";

/** A socket's session, kept in its attachment so it survives hibernation. */
export interface Session {
  sid: string;
  dialect: DialectName;
  /** Null until authenticated (first-frame auth). */
  user: Profile | null;
  /** The room a room-scoped socket's URL names. */
  room: string | null;
  /** The dialect's own state. */
  state: unknown;
  /** Subscribed rooms → the last sequence number already sent to this socket when it subscribed. */
  subs: Record<string, number>;
  /** Peers whose online state this session watches (user-scoped sessions only). */
  watches?: string[];
  connectedAt: number;
}

/** The keepalive every dialect hosted here may use: a bare newline (STOMP's heart-beat), echoed without waking. */
export const KEEPALIVE = "\n";
/** Unauthenticated sockets must authenticate within this time. */
export const AUTH_GRACE_MS = 15_000;

/**
 * Completes a close the client started. The runtime does not answer a hibernatable socket's Close frame by
 * itself, so without this the client waits for its own timeout and reports 1006. 1005 and 1006 only describe
 * a close without a code and cannot be sent, so those are answered with 1000.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  } catch {
    // Already closed.
  }
}

/** How a socket reached its object: chosen by the Worker, which authenticated it when it could. */
export interface SocketInit {
  dialect: DialectName;
  user: Profile | null;
  protocol: string | null;
}

const SOCKET_INIT_HEADER = "X-Parley-Socket";

/** The Worker's upgrade request to a Durable Object, carrying how the socket is to be hosted. */
export function socketUpgrade(original: Request, init: SocketInit): Request {
  const headers = new Headers(original.headers);
  headers.set(SOCKET_INIT_HEADER, JSON.stringify(init));
  return new Request(original.url, { method: "GET", headers });
}

/** The hosting instructions of an upgrade request from the Worker, or the 426 answer to anything else. */
export function readSocketUpgrade(request: Request): SocketInit | Response {
  const init = JSON.parse(request.headers.get(SOCKET_INIT_HEADER) ?? "null") as SocketInit | null;
  if (init && request.headers.get("Upgrade")?.toLowerCase() === "websocket") return init;
  return Response.json(
    { error: { code: "bad_request", message: "expected a WebSocket upgrade" } },
    { status: 426 },
  );
}

export interface Executed {
  outcome: CommandOutcome;
  /** Events to send to this socket before the answer (a resumed subscription's backlog). */
  before?: ChatEvent[];
}

export type Executor = (ws: WebSocket, session: Session, command: Command) => Promise<Executed>;

/**
 * The socket machinery both Durable Objects share: accepting with the Hibernation API, decoding through the
 * session's codec, running commands one at a time per socket (so a client's frames keep their order), and
 * encoding events. What a command does is the host object's business (`Executor`).
 */
export class SessionHost {
  private readonly cache = new WeakMap<WebSocket, Session>();
  private readonly queues = new WeakMap<WebSocket, Promise<void>>();
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly maxFrameBytes: number,
    private readonly execute: Executor,
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE, KEEPALIVE));
  }

  accept(init: Omit<Session, "sid" | "state" | "subs" | "connectedAt">, protocol: string | null): Response {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const session: Session = {
      ...init,
      sid: crypto.randomUUID(),
      state: null,
      subs: {},
      connectedAt: Date.now(),
    };
    session.state = codecFor(init.dialect).initialState(this.contextOf(session));
    this.ctx.acceptWebSocket(server, init.user ? [`user:${init.user.id}`] : []);
    this.save(server, session);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
    });
  }

  session(ws: WebSocket): Session | null {
    let session = this.cache.get(ws);
    if (!session) {
      session = (ws.deserializeAttachment() as Session | null) ?? undefined;
      if (session) this.cache.set(ws, session);
    }
    return session ?? null;
  }

  save(ws: WebSocket, session: Session): void {
    this.cache.set(ws, session);
    ws.serializeAttachment(session);
  }

  /** Every open socket with its session. */
  *sessions(): Generator<[WebSocket, Session]> {
    for (const ws of this.ctx.getWebSockets()) {
      const session = this.session(ws);
      if (session) yield [ws, session];
    }
  }

  contextOf(session: Session): SessionContext {
    return {
      sessionId: session.sid,
      user: session.user,
      room: session.room,
      maxFrameBytes: this.maxFrameBytes,
      now: () => new Date(),
    };
  }

  /** Handles one incoming frame, after every earlier frame of the same socket. */
  onMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    this.lastFrameAt.set(ws, Date.now());
    const prior = this.queues.get(ws) ?? Promise.resolve();
    const next = prior.then(() => this.handle(ws, frame));
    this.queues.set(ws, next);
    return next;
  }

  private async handle(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const session = this.session(ws);
    if (!session) return;
    const codec = codecFor(session.dialect);
    try {
      const decoded = codec.decode(session.state, frame, this.contextOf(session));
      session.state = decoded.state;
      // A closing decode (e.g. STOMP SEND then DISCONNECT in one message) still runs what came before the close.
      if (!decoded.close) this.send(ws, decoded.replies);
      for (const { command, tag } of decoded.commands) {
        const { outcome, before } = await this.run(ws, session, command);
        if (before?.length)
          this.send(
            ws,
            before.flatMap((e) => codec.encodeEvent(session.state, e, this.contextOf(session))),
          );
        const answer = codec.encodeOutcome(session.state, tag, command, outcome, this.contextOf(session));
        session.state = answer.state;
        this.send(ws, answer.frames);
        if (answer.close) return this.close(ws, session, answer.close.code, answer.close.reason);
      }
      if (decoded.close) {
        this.send(ws, decoded.replies);
        return this.close(ws, session, decoded.close.code, decoded.close.reason);
      }
      this.save(ws, session);
    } catch (error) {
      console.error("session frame failed", session.dialect, error);
      this.close(ws, session, CloseCode.ServerError, "internal error");
    }
  }

  private async run(ws: WebSocket, session: Session, command: Command): Promise<Executed> {
    try {
      return await this.execute(ws, session, command);
    } catch (error) {
      console.error("command failed", command.kind, error);
      return { outcome: { ok: false, error: { code: "internal", message: "internal error" } } };
    }
  }

  send(ws: WebSocket, frames: string[]): void {
    if (frames.length === 0) return;
    const session = this.session(ws);
    if (!session) return;
    try {
      for (const message of frames.length === 1 ? frames : codecFor(session.dialect).batch(frames))
        ws.send(message);
    } catch {
      // The peer is gone; its close handler cleans up.
    }
  }

  close(ws: WebSocket, session: Session, code: number, reason: string): void {
    this.save(ws, session);
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /**
   * Sends room events to every socket that should see them: `wants` says whether a session follows the room,
   * and durable events already covered by a session's resume backlog (seq at or below its seam) are skipped.
   * Where a dialect's encoding depends on the event alone, each event is encoded once per call, and sockets that
   * get the same events share one batched message: one string built once, instead of one per socket.
   */
  fanOut(events: RoomEvent[], wants: (session: Session, room: string) => boolean): void {
    if (events.length === 0) return;
    const shared = new Map<DialectName, { frames: string[][]; messages: Map<string, string[]> }>();
    for (const [ws, session] of this.sessions()) {
      const user = session.user;
      if (!user) continue;
      const picked: number[] = [];
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as RoomEvent;
        if (!wants(session, event.room) || !eventVisibleTo(event, user.id)) continue;
        if (isDurable(event) && event.seq <= (session.subs[event.room] ?? 0)) continue;
        picked.push(i);
      }
      if (picked.length === 0) continue;
      const codec = codecFor(session.dialect);
      if (!codec.eventEncodingIsShared) {
        const ctx = this.contextOf(session);
        this.send(
          ws,
          picked.flatMap((i) => codec.encodeEvent(session.state, events[i] as RoomEvent, ctx)),
        );
        continue;
      }
      const cache = shared.get(codec.name) ?? { frames: [], messages: new Map<string, string[]>() };
      shared.set(codec.name, cache);
      const selection = picked.length === events.length ? "all" : picked.join(",");
      let messages = cache.messages.get(selection);
      if (!messages) {
        const ctx = this.contextOf(session);
        const frames = picked.flatMap((i) => {
          cache.frames[i] ??= codec.encodeEvent(session.state, events[i] as RoomEvent, ctx);
          return cache.frames[i];
        });
        messages = frames.length <= 1 ? frames : codec.batch(frames);
        cache.messages.set(selection, messages);
      }
      try {
        for (const message of messages) ws.send(message);
      } catch {
        // The peer is gone; its close handler cleans up.
      }
    }
  }

  /** Closes sockets that never authenticated in time or went silent; returns when the next check is due. */
  sweep(now: number): number | null {
    let next: number | null = null;
    for (const [ws, session] of this.sessions()) {
      const lastBeat = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const lastActive = Math.max(lastBeat, this.lastFrameAt.get(ws) ?? 0, session.connectedAt);
      const idleLimit = codecFor(session.dialect).idleLimitMs(session.state);
      let due: number | null;
      if (!session.user) {
        due = session.connectedAt + AUTH_GRACE_MS;
        if (now >= due) this.close(ws, session, CloseCode.NoAuthToken, "authentication timed out");
      } else if (idleLimit !== null) {
        due = lastActive + idleLimit;
        if (now >= due) this.close(ws, session, CloseCode.Afk, "no keepalive");
      } else {
        due = null;
      }
      if (due !== null && due > now) next = next === null ? due : Math.min(next, due);
    }
    return next;
  }
}
