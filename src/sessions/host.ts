import type { Close, SessionContext, TaggedCommand } from "../dialects/codec";
import { type AnyCodec, codecFor, type DialectName } from "../dialects/registry";
import { CloseCode } from "../domain/close-codes";
import type { Command, CommandOutcome } from "../domain/commands";
import { closeReason, refuse } from "../domain/errors";
import type { ChatEvent, RoomEvent } from "../domain/events";
import { eventVisibleTo, isDurable } from "../domain/events";
import type { RoomBrief } from "../domain/model";
import type { Session, SocketInit } from "./session";
import { sessionTimers } from "./timers";

/** The keepalive every dialect hosted here may use: a bare newline (STOMP's heart-beat), echoed without waking. */
export const KEEPALIVE = "\n";

/**
 * Completes a close the client started. The runtime does not answer a hibernatable socket's Close frame by
 * itself, so without this the client waits for its own timeout and reports 1006. 1005 and 1006 only describe
 * a close without a code and cannot be sent, so those are answered with 1000.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, closeReason(reason));
  } catch {
    // Already closed.
  }
}

/**
 * One hosted socket and its session; every change to the session goes through `update`, which persists it. The
 * session is read afresh on each access, so a handle held across an await never writes back a stale copy.
 */
export class Connection {
  constructor(
    readonly ws: WebSocket,
    private readonly host: SessionHost,
  ) {}

  private get current(): Session {
    return this.host.sessionOf(this.ws) as Session;
  }

  get session(): Readonly<Session> {
    return this.current;
  }

  get codec(): AnyCodec {
    return codecFor(this.current.dialect as DialectName);
  }

  get context(): SessionContext {
    return this.host.contextOf(this.current);
  }

  update(patch: Partial<Session>): void {
    this.host.persist(this.ws, { ...this.current, ...patch });
  }

  send(frames: string[]): void {
    if (frames.length === 0) return;
    this.host.write(this, frames.length === 1 ? frames : this.codec.batch(frames), false);
  }

  /** The frames `event` becomes for this session, keeping whatever the codec tracks about sent events. */
  encode(event: ChatEvent): string[] {
    const codec = this.codec;
    const frames = codec.encodeEvent(this.current.state, event, this.context);
    if (!codec.afterEvent) return frames;
    const state = codec.afterEvent(this.current.state, event, this.context);
    // Most events change nothing a codec tracks: the attachment is rewritten only when the state changed.
    if (state !== this.current.state) this.update({ state });
    return frames;
  }

  /** Closes from the server side: the dialect's parting frames first, then the close with a reason that fits. */
  close(close: Close): void {
    if (!this.host.startClosing(this.ws)) return;
    this.send(this.codec.closeFrames?.(this.current.state, close, this.context) ?? []);
    try {
      this.ws.close(close.code, closeReason(close.reason));
    } catch {
      // Already closed.
    }
  }
}

export interface Executed {
  outcome: CommandOutcome;
  /** Events to send to this socket before the answer (a resumed subscription's backlog). */
  before?: ChatEvent[];
}

/** What the object hosting the sockets provides: running commands, and what it knows of rooms. */
export interface HostHooks {
  execute(connection: Connection, command: Command): Promise<Executed>;
  roomInfo(key: string): RoomBrief | null;
}

/**
 * The socket machinery both Durable Objects share: accepting with the Hibernation API, decoding through the
 * session's codec, running commands one at a time per socket (so a client's frames keep their order), encoding
 * events, and the timers every dialect needs (auth grace, idle limit, token expiry, server heartbeats). What a
 * command does is the host object's business (`HostHooks.execute`).
 */
export class SessionHost {
  private readonly cache = new WeakMap<WebSocket, Session>();
  private readonly queues = new WeakMap<WebSocket, Promise<void>>();
  private readonly closing = new WeakSet<WebSocket>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly limits: { maxFrameBytes: number; maxBacklogBytes: number },
    private readonly hooks: HostHooks,
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE, KEEPALIVE));
  }

  /**
   * Accepts a socket for `init`, sends the dialect's opening frames, and returns the 101 answer. `kept` is the
   * codec state of the earlier session the socket resumes (`SocketInit.resumeSid`), when the object still kept
   * it: the codec restores from it, and the commands it returns run before any frame of the client's.
   */
  accept(
    init: SocketInit,
    room: string | null,
    tags: string[] = [],
    kept?: unknown,
  ): { response: Response; connection: Connection } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const codec = codecFor(init.dialect as DialectName);
    const session: Session = {
      sid: init.handoff?.sid ?? crypto.randomUUID(),
      dialect: init.dialect,
      user: init.user,
      authenticatedBy: init.user ? "upgrade" : null,
      expiresAt: init.expiresAt,
      room,
      protocol: init.protocol,
      state: null,
      subs: {},
      follows: [...(codec.initialFollows ?? [])],
      watches: [],
      connectedAt: Date.now(),
      lastFrameAt: 0,
      lastBeatAt: null,
    };
    const restored =
      kept !== undefined && codec.resume ? codec.resume.restore(kept, this.contextOf(session)) : null;
    session.state = init.handoff
      ? init.handoff.state
      : (restored?.state ?? codec.initialState(this.contextOf(session)));
    this.ctx.acceptWebSocket(server, init.user ? [`user:${init.user.id}`, ...tags] : tags);
    this.persist(server, session);
    const connection = new Connection(server, this);
    if (codec.open && !init.handoff) {
      const opened = codec.open(session.state, this.contextOf(session));
      connection.update({ state: opened.state });
      connection.send(opened.frames);
      if (opened.close) connection.close(opened.close);
      else if (restored?.commands.length)
        this.enqueue(server, () => this.resume(connection, restored.commands));
    }
    const response = new Response(null, {
      status: 101,
      webSocket: client,
      headers: init.protocol ? { "Sec-WebSocket-Protocol": init.protocol } : {},
    });
    return { response, connection };
  }

  /** Marks a socket as closing by the server; false when it already was (its parting frames went out once). */
  startClosing(ws: WebSocket): boolean {
    if (this.closing.has(ws)) return false;
    this.closing.add(ws);
    return true;
  }

  persist(ws: WebSocket, session: Session): void {
    this.cache.set(ws, session);
    ws.serializeAttachment(session);
  }

  sessionOf(ws: WebSocket): Session | null {
    let session = this.cache.get(ws);
    if (!session) {
      session = (ws.deserializeAttachment() as Session | null) ?? undefined;
      if (!session) return null;
      this.cache.set(ws, session);
    }
    return session;
  }

  connection(ws: WebSocket): Connection | null {
    return this.sessionOf(ws) ? new Connection(ws, this) : null;
  }

  /** Every open socket with its session. */
  *connections(): Generator<Connection> {
    for (const ws of this.ctx.getWebSockets()) {
      const connection = this.connection(ws);
      if (connection) yield connection;
    }
  }

  contextOf(session: Session): SessionContext {
    return {
      sessionId: session.sid,
      user: session.user,
      room: session.room,
      subprotocol: session.protocol,
      maxFrameBytes: this.limits.maxFrameBytes,
      now: () => new Date(),
      roomInfo: (key) => this.hooks.roomInfo(key),
    };
  }

  /** Handles one incoming frame, after every earlier frame of the same socket. */
  onMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    this.connection(ws)?.update({ lastFrameAt: Date.now() });
    return this.enqueue(ws, () => this.handle(ws, frame));
  }

  /** Runs `work` after everything already queued for the socket. */
  private enqueue(ws: WebSocket, work: () => Promise<void>): Promise<void> {
    const prior = this.queues.get(ws) ?? Promise.resolve();
    const next = prior.then(work);
    this.queues.set(ws, next);
    return next;
  }

  private async handle(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const connection = this.connection(ws);
    if (!connection) return;
    const codec = connection.codec;
    try {
      const decoded = codec.decode(connection.session.state, frame, connection.context);
      connection.update({ state: decoded.state });
      // A closing decode (e.g. STOMP SEND then DISCONNECT in one message) still runs what came before the close.
      if (!decoded.close) connection.send(decoded.replies);
      if (!(await this.runAll(connection, decoded.commands))) return;
      if (decoded.close) {
        connection.send(decoded.replies);
        connection.close(decoded.close);
      }
    } catch (error) {
      console.error("session frame failed", connection.session.dialect, error);
      connection.close({ code: CloseCode.ServerError, reason: "internal error" });
    }
  }

  /** Re-follows what a resumed session followed, before the client's first frame is handled. */
  private async resume(connection: Connection, commands: TaggedCommand[]): Promise<void> {
    try {
      await this.runAll(connection, commands);
    } catch (error) {
      console.error("session resumption failed", connection.session.dialect, error);
      connection.close({ code: CloseCode.ServerError, reason: "internal error" });
    }
  }

  /**
   * Runs decoded commands in order, answering each through the codec; false when an answer closed the socket
   * (the commands after it are not run).
   */
  private async runAll(connection: Connection, commands: TaggedCommand[]): Promise<boolean> {
    const codec = connection.codec;
    for (const { command, tag } of commands) {
      const { outcome, before } = await this.run(connection, command);
      if (before?.length) connection.send(before.flatMap((e) => connection.encode(e)));
      const answer = codec.encodeOutcome(connection.session.state, tag, command, outcome, connection.context);
      connection.update({ state: answer.state });
      connection.send(answer.frames);
      if (answer.close) {
        connection.close(answer.close);
        return false;
      }
    }
    return true;
  }

  private async run(connection: Connection, command: Command): Promise<Executed> {
    try {
      return await this.hooks.execute(connection, command);
    } catch (error) {
      console.error("command failed", command.kind, error);
      return { outcome: refuse.internal() };
    }
  }

  /**
   * Sends room events to every socket that should see them: `wants` says whether a session follows the room,
   * and durable events already covered by a session's resume backlog (seq at or below its seam) are skipped.
   * Where a dialect's encoding depends on the event alone, each event is encoded once per call, and sockets that
   * get the same events share one batched message: one string built once, instead of one per socket. An event
   * that cannot be encoded is skipped with a logged error, so it never stops the events after it.
   */
  fanOut(events: RoomEvent[], wants: (session: Session, event: RoomEvent) => boolean): void {
    if (events.length === 0) return;
    const shared = new Map<string, { frames: string[][]; messages: Map<string, string[]> }>();
    for (const connection of this.connections()) {
      const session = connection.session;
      const user = session.user;
      if (!user) continue;
      const picked: number[] = [];
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as RoomEvent;
        if (!wants(session, event) || !eventVisibleTo(event, user.id)) continue;
        if (isDurable(event) && event.seq <= (session.subs[event.room] ?? 0)) continue;
        picked.push(i);
      }
      if (picked.length === 0) continue;
      const codec = connection.codec;
      if (!codec.eventEncodingIsShared) {
        const frames = picked.flatMap((i) => safely(() => connection.encode(events[i] as RoomEvent)));
        if (frames.length > 0)
          this.write(connection, frames.length === 1 ? frames : codec.batch(frames), true);
        continue;
      }
      const cache = shared.get(codec.name) ?? { frames: [], messages: new Map<string, string[]>() };
      shared.set(codec.name, cache);
      const selection = picked.length === events.length ? "all" : picked.join(",");
      let messages = cache.messages.get(selection);
      if (!messages) {
        const frames = picked.flatMap((i) => {
          cache.frames[i] ??= safely(() => connection.encode(events[i] as RoomEvent));
          return cache.frames[i];
        });
        messages = frames.length <= 1 ? frames : codec.batch(frames);
        cache.messages.set(selection, messages);
      }
      this.write(connection, messages, true);
    }
  }

  /**
   * Writes WebSocket messages to a socket. A client that stops reading makes the runtime queue what is pushed to
   * it; past `maxBacklogBytes` queued the socket is closed (4009) rather than let one slow reader grow the
   * object's memory for everyone. The client reconnects and resumes with `since`, losing nothing. Only pushed
   * traffic (`bounded`: fan-out) is checked: answers and resume backlogs are what the client just asked for.
   */
  write(connection: Connection, messages: string[], bounded: boolean): void {
    const { ws } = connection;
    try {
      for (const message of messages) ws.send(message);
    } catch {
      // The peer is gone; its close handler cleans up.
      return;
    }
    if (bounded && !this.closing.has(ws) && ws.bufferedAmount > this.limits.maxBacklogBytes) {
      console.warn("socket closed for an outbound backlog", connection.session.dialect, ws.bufferedAmount);
      connection.close({
        code: CloseCode.ConnectionClosed,
        reason: "too far behind: reconnect and resume with since",
      });
    }
  }

  /**
   * The timers of every session: closes sockets that never authenticated in time, went silent, or kept an
   * expired token past the grace period, and drives server heartbeats. Returns when the next check is due.
   */
  sweep(now: number): number | null {
    let next: number | null = null;
    for (const connection of this.connections()) {
      const { ws, session } = connection;
      const codec = connection.codec;
      const lastKeepalive = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const lastActiveAt = Math.max(lastKeepalive, session.lastFrameAt, session.connectedAt);
      const decision = sessionTimers({
        now,
        connectedAt: session.connectedAt,
        authenticated: session.user !== null,
        expiresAt: session.expiresAt,
        lastActiveAt,
        idleLimitMs: codec.idleLimitMs(session.state),
        heartbeatMs: codec.heartbeat?.intervalMs ?? null,
        lastBeatAt: session.lastBeatAt ?? session.connectedAt,
      });
      if (decision.close) {
        connection.close(decision.close);
        continue;
      }
      if (decision.beat && codec.heartbeat) {
        const beat = codec.heartbeat.beat(session.state, connection.context, lastActiveAt);
        connection.update({ state: beat.state, lastBeatAt: now });
        connection.send(beat.frames);
        if (beat.close) {
          connection.close(beat.close);
          continue;
        }
      }
      if (decision.nextAt !== null) next = next === null ? decision.nextAt : Math.min(next, decision.nextAt);
    }
    return next;
  }
}

function safely(encode: () => string[]): string[] {
  try {
    return encode();
  } catch (error) {
    console.error("event could not be encoded; skipped", error);
    return [];
  }
}
