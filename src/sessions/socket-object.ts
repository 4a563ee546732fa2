import { DurableObject } from "cloudflare:workers";
import { countRequest, devStatsEnabled } from "../dev-stats";
import type { Command } from "../domain/commands";
import type { RoomBrief } from "../domain/model";
import { type Env, limitsOf } from "../env";
import { errorResponse } from "../http/errors";
import { answerClose, type Connection, type Executed, SessionHost } from "./host";
import { readSocketUpgrade, type SocketInit } from "./session";
import { AUTH_GRACE_MS } from "./timers";

/**
 * Background work of an object, run from its alarm. `run` returns when it wants to run again (null: when woken
 * for something else). One failure policy for every job: a job moves its own cursor only after its work
 * succeeded, and a job that throws is retried with backoff (0.5 s doubling to 30 s) — nothing is skipped.
 */
export interface Job {
  name: string;
  run(now: number): Promise<number | null>;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Where an object keeps the codec state of closed sessions whose dialect resumes them (`Codec.resume`), by
 * session id, until `until` (ms since the epoch). `take` answers a state once and forgets it.
 */
export interface KeptSessions {
  keep(sid: string, dialect: string, state: unknown, until: number): void;
  /** The kept state, or undefined when none is kept (any more) under that id for that dialect. */
  take(sid: string, dialect: string, now: number): unknown;
}

/**
 * The base both Durable Objects share (partyserver's shape): it owns the platform handlers — `fetch` for socket
 * upgrades, the `webSocket*` handlers and `alarm` — and calls the hooks its subclass defines.
 */
export abstract class SocketObject extends DurableObject<Env> {
  protected readonly sockets: SessionHost;
  private readonly failures = new Map<string, number>();
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sockets = new SessionHost(ctx, limitsOf(env), {
      execute: (connection, command) => this.onCommand(connection, command),
      roomInfo: (key) => this.roomInfo(key),
    });
  }

  /** Whether this object hosts the socket; a Response refuses it (e.g. 403 for a room the user cannot read). */
  protected abstract admit(init: SocketInit): Promise<{ room: string | null } | Response>;
  protected abstract onCommand(connection: Connection, command: Command): Promise<Executed>;
  protected abstract roomInfo(key: string): RoomBrief | null;
  /** A socket was hosted (authenticated at upgrade when `connection.session.user` is set). */
  protected async onOpen(_connection: Connection): Promise<void> {}
  /** A socket closed or failed: whatever it held (presence, subscriptions) is released. */
  protected async onGone(_connection: Connection): Promise<void> {}
  protected jobs(): Job[] {
    return [];
  }
  /** Where closed sessions are kept for resumption; null (the default) when this object resumes none. */
  protected keptSessions(): KeptSessions | null {
    return null;
  }

  override async fetch(request: Request): Promise<Response> {
    const init = readSocketUpgrade(request);
    if (!init) return errorResponse({ code: "bad_request", message: "expected a WebSocket upgrade" }, 426);
    const admitted = await this.admit(init);
    if (admitted instanceof Response) return admitted;
    const kept =
      init.resumeSid && init.user
        ? this.keptSessions()?.take(init.resumeSid, init.dialect, Date.now())
        : undefined;
    const { response, connection } = this.sockets.accept(init, admitted.room, [], kept);
    await this.onOpen(connection);
    // The sweep sends the first heartbeat, and checks the auth grace.
    const heartbeat = connection.codec.heartbeat?.intervalMs ?? AUTH_GRACE_MS;
    await this.wakeAt(Date.now() + Math.min(heartbeat, AUTH_GRACE_MS));
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (devStatsEnabled(this.env)) countRequest(`${this.constructor.name}.webSocketMessage`);
    await this.sockets.onMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
    await this.gone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.gone(ws);
  }

  private async gone(ws: WebSocket): Promise<void> {
    const connection = this.sockets.connection(ws);
    if (!connection) return;
    const { session, codec } = connection;
    if (codec.resume && session.user)
      this.keptSessions()?.keep(
        session.sid,
        session.dialect,
        session.state,
        Date.now() + codec.resume.keepMs,
      );
    await this.onGone(connection);
  }

  /** Runs every job, then the socket timers, and sets the alarm for whatever is due first. */
  override async alarm(): Promise<void> {
    if (devStatsEnabled(this.env)) countRequest(`${this.constructor.name}.alarm`);
    this.alarmAt = null;
    const now = Date.now();
    const due: (number | null)[] = [];
    for (const job of this.jobs()) {
      try {
        due.push(await job.run(now));
        this.failures.delete(job.name);
      } catch (error) {
        const failures = (this.failures.get(job.name) ?? 0) + 1;
        this.failures.set(job.name, failures);
        console.error(`${job.name} failed; will retry`, error);
        due.push(now + Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures));
      }
    }
    due.push(this.sockets.sweep(now));
    const next = due
      .filter((t): t is number => t !== null)
      .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) await this.wakeAt(Math.max(next, now + 10));
  }

  /** Makes sure the alarm fires by `at`. */
  protected async wakeAt(at: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= at) {
      this.alarmAt = current;
      return;
    }
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
