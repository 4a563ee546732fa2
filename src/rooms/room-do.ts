import { verifyDialectToken } from "../dialects/codec";
import type { Command, CommandOutcome, RoomRef } from "../domain/commands";
import { type Outcome, ok, refuse } from "../domain/errors";
import type { DurableEvent, RoomEvent } from "../domain/events";
import { isDurable } from "../domain/events";
import { countsAsUnread } from "../domain/lifecycle";
import { mentions } from "../domain/mentions";
import type { Member, Profile, Role, Room, RoomBrief } from "../domain/model";
import type { UnreadSummary } from "../domain/unread";
import { type Env, type Limits, limitsOf, listVar } from "../env";
import { errorResponse } from "../http/errors";
import type { Connection, Executed, SessionHost } from "../sessions/host";
import { frameUser, reauthRefusal, type SocketInit } from "../sessions/session";
import { type Job, SocketObject } from "../sessions/socket-object";
import { notBanned } from "../storage/bans";
import { countUnreadRows, readMessageRows } from "../storage/room-rows";
import { type Handlers, isRoomCommand, messagingHandlers, type RoomCommand } from "./commands";
import { FLUSH_DELAY_MS, type RoomCore } from "./core";
import { FanOut } from "./fanout";
import { RoomGuard } from "./guards";
import { roomJobs } from "./jobs";
import { lifecycleHandlers } from "./lifecycle";
import { LifecycleStore } from "./lifecycle-store";
import { RoomLog } from "./log";
import { Membership, type RoomInit, type RoomPatch, type RoomView } from "./membership";
import { Presence } from "./presence";
import { RoomStore } from "./room-store";
import { userStub } from "./stubs";

export type { RoomInit, RoomPatch, RoomView };

/** What a user's object learns when it attaches to the room. */
export interface Attached {
  head: number;
  epoch: string;
  brief: RoomBrief;
  backlog: DurableEvent[];
  unread: UnreadSummary;
}

const handlers: Handlers = { ...messagingHandlers, ...lifecycleHandlers };

/**
 * One room: the single writer of its sequence, log, membership and D1 rows; host of room-scoped sockets;
 * fan-out to its sockets and to the user objects of online members. The work lives in the modules it wires:
 * guards (snapshot), log (positions, backlog, history), fan-out, membership, command handlers and jobs.
 */
export class RoomDO extends SocketObject {
  private readonly core: RoomCore;
  private readonly membership: Membership;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const limits: Limits = limitsOf(env);
    const store = new RoomStore(ctx.storage.sql, limits.hotEvents);
    const lifecycle = new LifecycleStore(ctx.storage.sql);
    const guard = new RoomGuard(store);
    const fanout = new FanOut({
      toSockets: (events) => this.sockets.fanOut(events, (session, event) => event.room in session.subs),
      attachedUsers: function* () {
        for (const a of store.attachedUsers()) yield a.profile.id;
      },
      toUser: (userId, events) => userStub(env, userId).receive(events[0]?.room ?? "", events),
      deliveryFailed: async (userId, error) => {
        console.error("delivery to user failed; detaching", userId, error);
        await this.detachUser(userId);
      },
    });
    const presence = new Presence(livePaths(store, guard, this.sockets));
    this.core = {
      env,
      limits,
      store,
      lifecycle,
      guard,
      log: new RoomLog(store, lifecycle, env.DB),
      fanout,
      presence,
      sockets: this.sockets,
      buckets: new Map(),
      transaction: (run) => ctx.storage.transactionSync(run),
      wakeAt: (at) => this.wakeAt(at),
      publish: (event) => this.publish(event),
      cutOff: (userId, code, reason) => this.cutOff(userId, code, reason),
    };
    this.membership = new Membership(this.core);
  }

  // ---- lifecycle and membership (HTTP API) ----

  async create(init: RoomInit) {
    const created = await this.membership.create(init);
    if (created.ok && created.value.room.kind === "direct")
      this.core.store.setCounter(consentKey(init.creator.id), 1);
    return created;
  }
  async view(userId: string): Promise<Outcome<RoomView>> {
    return this.membership.view(userId);
  }
  /** The caller's standing, for the Worker's checks on routes that do not otherwise reach the room. */
  async access(userId: string): Promise<Outcome<{ room: Room; role: Role | null }>> {
    return this.membership.access(userId);
  }
  update(actor: string, patch: RoomPatch) {
    return this.membership.update(actor, patch);
  }
  destroy(actor: string) {
    return this.membership.destroy(actor);
  }
  addMembers(actor: string, members: { profile: Profile; role: Role }[]): Promise<Outcome<Member[]>> {
    return this.membership.addMembers(actor, members);
  }
  setRole(actor: string, userId: string, role: Role) {
    return this.membership.setRole(actor, userId, role);
  }
  removeMember(actor: string, userId: string) {
    return this.membership.removeMember(actor, userId);
  }
  ban(actor: string, userId: string) {
    return this.membership.ban(actor, userId);
  }
  unban(actor: string, userId: string) {
    return this.membership.unban(actor, userId);
  }

  /** Whether a member of this direct room accepted it: sent a message in it or opened it themselves. */
  async presenceConsent(userId: string): Promise<boolean> {
    const room = this.core.guard.room();
    return room?.kind === "direct" && this.core.store.counter(consentKey(userId)) === 1;
  }

  // ---- the one command surface ----

  /** Runs a chat command for `actor`: every socket host and HTTP route reaches the room through this. */
  async run(actor: Profile, command: RoomCommand): Promise<CommandOutcome> {
    const room = this.core.guard.room();
    if (!room || !this.names(room, command.room)) return refuse.roomNotFound();
    const entry = this.core.guard.participant(actor.id);
    if (!entry.ok) return entry;
    const turn = { core: this.core, actor, room, standing: entry.value.standing, now: Date.now() };
    const handler = handlers[command.kind] as (t: typeof turn, c: RoomCommand) => Promise<CommandOutcome>;
    const outcome = await handler(turn, command);
    if (outcome.ok && command.kind === "send" && room.kind === "direct")
      this.core.store.setCounter(consentKey(actor.id), 1);
    return outcome;
  }

  private names(room: Room, ref: RoomRef): boolean {
    if (typeof ref === "string") return ref === room.key;
    return "number" in ref && ref.number === room.number;
  }

  // ---- user-scoped fan-out (called by user objects) ----

  /**
   * Registers a user's object for this room's events. With `since`, also returns every durable event after it
   * that the user may see; registration and the backlog's end (`head`) are taken in one step, so live events
   * are exactly those after `head`. `live` marks a session subscribed to the room (it counts as present). The
   * user's unread summary is taken in the same step, so their object counts on from `head` without any storage
   * write per message.
   */
  async attachUser(
    user: Profile,
    since: { seq: number; epoch: string | null } | null,
    live = since !== null,
  ): Promise<Outcome<Attached>> {
    const entry = this.core.guard.participant(user.id);
    if (!entry.ok) return entry;
    const { room } = entry.value;
    const { store, presence } = this.core;
    const head = this.core.log.position(room);
    const wasLive = store.attachment(user.id)?.live ?? false;
    store.attach(user, live || wasLive);
    if (live && !wasLive && presence.add(user.id)) this.announceOccupancy(room, user, "join");
    const brief = briefOf(room);
    const unread = await this.unreadSummary(room, user.id, head.seq);
    if (since === null) return ok({ head: head.seq, epoch: head.epoch, brief, backlog: [], unread });
    const backlog = await this.core.log.backlog(room, user.id, since, head);
    return backlog.ok
      ? ok({ head: head.seq, epoch: head.epoch, brief, backlog: backlog.value, unread })
      : backlog;
  }

  /**
   * The user's unread messages after their read marker up to `through`, and their mentions. The room's own log
   * is read before any await, so it is the state at `through`; older unread messages, already in D1 and unchanged
   * by new posts, are counted there.
   */
  private async unreadSummary(room: Room, userId: string, through: number): Promise<UnreadSummary> {
    const { store } = this.core;
    const marker = store.readMarker(userId);
    const floor = store.floor();
    const unread = store
      .messages(userId, Math.max(marker, floor - 1), through + 1, store.hotWindow, false)
      .filter((m) => countsAsUnread(m, userId));
    const [hotLast] = store.messages(userId, floor - 1, through + 1, 1, true);
    const older =
      marker + 1 < floor
        ? await countUnreadRows(this.env.DB, room.number, userId, marker, floor)
        : { unread: 0, mentions: 0 };
    const [oldLast] =
      hotLast || floor <= 1 ? [] : await readMessageRows(this.env.DB, room, userId, 0, floor, 1, true);
    const last = hotLast ?? oldLast;
    return {
      through,
      floor,
      seqs: unread.map((m) => m.seq),
      mention_seqs: unread.filter((m) => mentions(m, userId)).map((m) => m.seq),
      older: older.unread,
      older_mentions: older.mentions,
      ...(last ? { last_message: last } : {}),
    };
  }

  /** Ends a user's registration (offline), or only its presence (`liveOnly`: no session subscribed any more). */
  async detachUser(userId: string, liveOnly = false): Promise<void> {
    const { store, presence, guard } = this.core;
    const room = guard.room();
    const entry = store.attachment(userId);
    if (!room || !entry) return;
    if (liveOnly) store.attach(entry.profile, false);
    else store.detach(userId);
    if (entry.live && presence.remove(userId)) this.announceOccupancy(room, entry.profile, "leave");
  }

  // ---- room-scoped sockets ----

  /** Closes the user's room sockets here, membership untouched (an admin disconnect, a service ban). */
  async disconnect(userId: string, close: { code: number; reason: string }): Promise<number> {
    let closed = 0;
    for (const connection of this.sockets.connections()) {
      if (connection.session.user?.id !== userId) continue;
      connection.close(close);
      closed++;
    }
    return closed;
  }

  protected async admit(init: SocketInit): Promise<{ room: string } | Response> {
    const room = this.core.guard.room();
    if (!room) return errorResponse(refuse.roomNotFound().error);
    if (init.user && !this.core.guard.mayParticipate(init.user.id))
      return errorResponse(refuse.forbidden().error);
    return { room: room.key };
  }

  protected roomInfo(key: string): RoomBrief | null {
    const room = this.core.guard.room();
    return room && room.key === key ? briefOf(room) : null;
  }

  protected override async onGone(connection: Connection): Promise<void> {
    const { session } = connection;
    const room = this.core.guard.room();
    if (!session.user || !room || !(room.key in session.subs)) return;
    connection.update({ subs: {} });
    if (this.core.presence.remove(session.user.id)) this.announceOccupancy(room, session.user, "leave");
  }

  protected override jobs(): Job[] {
    return roomJobs(this.core);
  }

  protected async onCommand(connection: Connection, command: Command): Promise<Executed> {
    const room = this.core.guard.room();
    if (!room) return { outcome: refuse.roomNotFound() };
    if (command.kind === "auth") return { outcome: await this.authenticate(connection, command) };
    const user = connection.session.user;
    if (!user) return { outcome: refuse.unauthenticated() };
    if ("room" in command && !this.names(room, command.room))
      return { outcome: refuse.forbidden("this socket belongs to another room") };
    if (isRoomCommand(command)) return { outcome: await this.run(user, command) };
    switch (command.kind) {
      case "subscribe":
        return this.subscribe(connection, room, user, command);
      case "unsubscribe": {
        const was = room.key in connection.session.subs;
        connection.update({ subs: {} });
        if (was && this.core.presence.remove(user.id)) this.announceOccupancy(room, user, "leave");
        return { outcome: ok({ kind: "unsubscribed", room: room.key }) };
      }
      case "refresh_token": {
        const identity = await verifyDialectToken(connection.codec, this.env, command.token);
        if (!identity.ok) return { outcome: identity };
        if (identity.value.user.id !== user.id)
          return { outcome: refuse.forbidden("the new token names another user") };
        const expiresAt = identity.value.expiresAt * 1000;
        connection.update({ expiresAt });
        return {
          outcome: ok({ kind: "token_refreshed", user, expires_at: new Date(expiresAt).toISOString() }),
        };
      }
      default:
        return { outcome: refuse.badRequest(`${command.kind} is available on the user socket`) };
    }
  }

  private async subscribe(
    connection: Connection,
    room: Room,
    user: Profile,
    command: Extract<Command, { kind: "subscribe" }>,
  ): Promise<Executed> {
    if (!this.core.guard.mayParticipate(user.id)) return { outcome: refuse.forbidden() };
    const head = this.core.log.position(room);
    const backlog =
      command.since === null
        ? ok([])
        : await this.core.log.backlog(
            room,
            user.id,
            { seq: command.since, epoch: command.epoch ?? null },
            head,
          );
    if (!backlog.ok) return { outcome: backlog };
    const wasSubscribed = room.key in connection.session.subs;
    connection.update({ subs: { [room.key]: head.seq } });
    if (!wasSubscribed && this.core.presence.add(user.id)) this.announceOccupancy(room, user, "join");
    return {
      outcome: ok({ kind: "subscribed", room: room.key, head: head.seq, epoch: head.epoch }),
      before: backlog.value,
    };
  }

  private async authenticate(
    connection: Connection,
    command: Extract<Command, { kind: "auth" }>,
  ): Promise<CommandOutcome> {
    const identity = await verifyDialectToken(connection.codec, this.env, command.token);
    if (!identity.ok) return identity;
    const banned = await notBanned(this.env.DB, identity.value.user.id);
    if (!banned.ok) return banned;
    const refusal = reauthRefusal(connection.session, identity.value.user.id);
    if (refusal) return refuse.badRequest(refusal);
    const framed = frameUser(command, identity.value.user, listVar(this.env.STOMP_APP_IDS));
    if (!framed.ok) return framed;
    const user = framed.value;
    if (!this.core.guard.mayParticipate(user.id)) return refuse.forbidden();
    const expiresAt = identity.value.expiresAt * 1000;
    connection.update({ user, expiresAt, authenticatedBy: "frame" });
    return ok({ kind: "auth", user, expires_at: new Date(expiresAt).toISOString() });
  }

  // ---- fan-out ----

  private announceOccupancy(room: Room, user: Profile, what: "join" | "leave"): void {
    const { store, presence } = this.core;
    const total = what === "join" ? store.visit(user.id) : store.visitorCount();
    this.publish({
      type: "occupancy",
      room: room.key,
      what,
      user,
      participant_count: presence.size,
      total_user_count: total,
      at: new Date().toISOString(),
    });
  }

  private publish(event: RoomEvent): void {
    if (isDurable(event)) this.ctx.waitUntil(this.wakeAt(Date.now() + FLUSH_DELAY_MS));
    this.core.fanout.publish(event);
  }

  /** A user who may no longer see the room: close their room sockets and stop their user-scoped delivery. */
  private cutOff(userId: string, code: number, reason: string): void {
    for (const connection of this.sockets.connections()) {
      if (connection.session.user?.id === userId) connection.close({ code, reason });
    }
    this.core.store.detach(userId);
    this.core.presence.clear(userId);
  }
}

/** The live paths into the room, for rebuilding presence after a wake: subscribed sockets, live attachments. */
function* livePaths(store: RoomStore, guard: RoomGuard, sockets: SessionHost): Generator<string> {
  const room = guard.room();
  if (!room) return;
  for (const { session } of sockets.connections())
    if (session.user && room.key in session.subs) yield session.user.id;
  for (const { profile, live } of store.attachedUsers()) if (live) yield profile.id;
}

const consentKey = (userId: string) => `presence_consent:${userId}`;

export function briefOf(room: Room): RoomBrief {
  return {
    key: room.key,
    name: room.name,
    number: room.number,
    kind: room.kind,
    private: room.private,
    epoch: room.epoch,
  };
}
