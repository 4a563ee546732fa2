import { verifyChatToken } from "../auth/jwt";
import type { Command, CommandOutcome } from "../domain/commands";
import { type Outcome, ok, refuse } from "../domain/errors";
import type { RoomEvent, RoomListing, UserEvent } from "../domain/events";
import { isDurable } from "../domain/events";
import { directRoomKey } from "../domain/ids";
import { mentions } from "../domain/mentions";
import type { Message, Profile, Room, RoomBrief } from "../domain/model";
import { canWatchPresence } from "../domain/permissions";
import { applyRoomEvents, type RoomUnread, roomUnread, unreadCount } from "../domain/unread";
import { type Env, jwtConfigOf } from "../env";
import { decideMessagePush, type PushState, type Recipient, releaseHeldPushes } from "../push/decision";
import { messagePushJob, type PushJob } from "../push/jobs";
import { isRoomCommand } from "../rooms/commands";
import { dispatch, openDirectRoom, roomKeyOf } from "../rooms/dispatch";
import type { RoomView } from "../rooms/membership";
import type { Attached } from "../rooms/room-do";
import { roomStub, userStub } from "../rooms/stubs";
import type { Connection, Executed } from "../sessions/host";
import { followsRoom, reauthRefusal, type Session, type SocketInit } from "../sessions/session";
import { type Job, SocketObject } from "../sessions/socket-object";
import { roomsOfUser } from "../storage/room-index";
import { pushPreferences, roomExists, roomKeysOf } from "../storage/user-rows";
import { UserStore } from "./user-store";

/**
 * One user: the single writer of their presence, follows, unread counters and push decisions; host of their
 * user-scoped sockets on every device. Room events arrive once per event batch from each room's object and are
 * written to every interested socket here.
 */
export class UserDO extends SocketObject {
  private readonly store: UserStore;
  /** Events of rooms whose subscription is in flight, held until the subscription's seam is known. */
  private readonly holding = new Map<string, RoomEvent[]>();
  private briefs: Map<string, RoomBrief> | undefined;
  /**
   * Unread per attached room, in memory only: rebuilt from the summary each room returns on attach, moved by the
   * room's events, so delivery writes nothing. A room missing here (the object was evicted, or a read reached
   * into history held only as a count) is asked again when an inbox update needs it.
   */
  private readonly unread = new Map<string, RoomUnread>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new UserStore(ctx.storage.sql);
  }

  // ---- sockets ----

  protected async admit(_init: SocketInit): Promise<{ room: null } | Response> {
    return { room: null };
  }

  protected override async onOpen(connection: Connection): Promise<void> {
    if (connection.session.user) await this.cameOnline(connection.session.user);
  }

  protected override async onGone(connection: Connection): Promise<void> {
    const { session } = connection;
    if (!session.user) return;
    const user = session.user;
    const others = this.liveSessions(connection.ws);
    const stillSubscribed = new Set(others.flatMap((s) => Object.keys(s.subs)));
    const stillWatched = new Set(others.flatMap((s) => s.watches));
    const subscribed = Object.keys(session.subs);
    connection.update({ subs: {} });
    if (others.length === 0) return this.wentOffline(user);
    await Promise.allSettled([
      ...subscribed
        .filter((room) => !stillSubscribed.has(room))
        .map((room) => roomStub(this.env, room).detachUser(user.id, true)),
      ...session.watches
        .filter((peer) => !stillWatched.has(peer))
        .map((peer) => this.unwatchPeer(user.id, peer)),
    ]);
  }

  protected override jobs(): Job[] {
    return [{ name: "push release", run: async (now) => this.releasePushes(now) }];
  }

  protected roomInfo(key: string): RoomBrief | null {
    this.briefs ??= this.store.briefs();
    return this.briefs.get(key) ?? null;
  }

  private remember(brief: RoomBrief): void {
    this.roomInfo(brief.key);
    this.briefs?.set(brief.key, brief);
    this.store.saveBrief(brief);
  }

  /** Sessions of authenticated sockets other than `except`. */
  private liveSessions(except?: WebSocket): Session[] {
    return this.liveConnections(except).map((c) => c.session);
  }

  private liveConnections(except?: WebSocket): Connection[] {
    return [...this.sockets.connections()].filter((c) => c.ws !== except && c.session.user !== null);
  }

  // ---- presence ----

  /** The first authenticated socket makes the user online: rooms start delivering, watchers hear of it. */
  private async cameOnline(user: Profile): Promise<void> {
    this.store.saveProfile(user);
    if (this.liveConnections().length === 1) await this.goOnline(user);
  }

  private async goOnline(user: Profile): Promise<void> {
    this.store.setLastSeen(null);
    const rooms = await roomKeysOf(this.env.DB, user.id);
    await Promise.allSettled(rooms.map((key) => this.attach(user, key)));
    await this.tellWatchers(user.id, true, null);
  }

  private async wentOffline(user: Profile): Promise<void> {
    const at = new Date().toISOString();
    this.store.setLastSeen(at);
    const attached = this.store.attachedRooms();
    const watching = this.store.watching();
    this.store.clearAttached();
    this.unread.clear();
    await Promise.allSettled([
      ...attached.map((key) => roomStub(this.env, key).detachUser(user.id)),
      ...watching.map((peer) => this.unwatchPeer(user.id, peer)),
    ]);
    await this.tellWatchers(user.id, false, at);
    // A device that connected while the detaches were in flight found the user still online and attached
    // nothing; the detaches may have undone its registrations, so register again.
    if (this.liveConnections().length > 0) await this.goOnline(user);
  }

  private async attach(user: Profile, key: string): Promise<void> {
    await this.attachHolding(user, key, null, false);
  }

  /**
   * Registers with a room. Live events that overtake the answer are held: they move the unread counter the
   * answer starts (those up to its `head` are in it already) and are returned for a subscription to replay.
   */
  private async attachHolding(
    user: Profile,
    key: string,
    since: { seq: number; epoch: string | null } | null,
    live: boolean,
  ): Promise<{ result: Outcome<Attached>; held: RoomEvent[] }> {
    const held: RoomEvent[] = this.holding.get(key) ?? [];
    this.holding.set(key, held);
    let result: Outcome<Attached>;
    try {
      result = (await roomStub(this.env, key).attachUser(user, since, live)) as Outcome<Attached>;
    } finally {
      if (this.holding.get(key) === held) this.holding.delete(key);
    }
    if (!result.ok) return { result, held };
    this.store.markAttached(key);
    this.remember(result.value.brief);
    const counter = roomUnread(result.value.unread);
    if (applyRoomEvents(counter, held, user.id)) this.unread.set(key, counter);
    else this.unread.delete(key);
    return { result, held };
  }

  private async tellWatchers(userId: string, online: boolean, lastSeen: string | null): Promise<void> {
    const calls = this.store
      .watchers()
      .map((watcher) => userStub(this.env, watcher).peerPresence(userId, online, lastSeen));
    await Promise.allSettled(calls);
  }

  /** A watcher registers; answers this user's current state. */
  async addWatcher(watcherId: string): Promise<{ online: boolean; last_seen: string | null }> {
    this.store.addWatcher(watcherId);
    return { online: this.liveConnections().length > 0, last_seen: this.store.lastSeen() };
  }

  async removeWatcher(watcherId: string): Promise<void> {
    this.store.removeWatcher(watcherId);
  }

  /** A watched peer came online or went offline. */
  async peerPresence(peerId: string, online: boolean, lastSeen: string | null): Promise<void> {
    const event: UserEvent = {
      type: "presence",
      user_id: peerId,
      online,
      last_seen: lastSeen,
      at: new Date().toISOString(),
    };
    for (const connection of this.liveConnections()) {
      if (connection.session.watches.includes(peerId)) connection.send(connection.encode(event));
    }
  }

  private async unwatchPeer(userId: string, peer: string): Promise<void> {
    this.store.stopWatching(peer);
    await userStub(this.env, peer).removeWatcher(userId);
  }

  // ---- room events ----

  /**
   * A room this user belongs to (or follows) has new events. Following sockets get them first; the unread
   * counter moves in memory; sockets that do not follow the room get an inbox update. Nothing is written.
   */
  async receive(room: string, events: RoomEvent[]): Promise<void> {
    const held = this.holding.get(room);
    if (held) held.push(...events);
    this.sockets.fanOut(events, (session, event) => followsRoom(session, event.room));
    const me = this.store.profile();
    const counter = this.unread.get(room);
    if (me && counter && !applyRoomEvents(counter, events, me.id)) this.unread.delete(room);
    const others = this.liveConnections().filter((c) => !followsRoom(c.session, room));
    if (!me || others.length === 0 || !touchesInbox(events, me.id)) return;
    const inbox = await this.inboxEvent(me, room);
    if (!inbox) return;
    for (const connection of others) connection.send(connection.encode(inbox));
  }
  /** The user was added to a room: if online, start following it. */
  async joinedRoom(room: string): Promise<void> {
    const user = this.store.profile();
    const connections = this.liveConnections();
    if (!user || connections.length === 0) return;
    await this.attach(user, room);
    const event: UserEvent = { type: "room_added", room, listing: null };
    for (const connection of connections) connection.send(connection.encode(event));
  }

  /**
   * Messages for this user, who has a push device, while no path of theirs was attached to the room: the push
   * decision (deduplicated per message, collapsed per room, muted rooms and the user's switch respected). Unread
   * is not counted here: the room derives it from the read marker when the user attaches again.
   */
  async offlineMessages(userId: string, room: Room, messages: Message[]): Promise<void> {
    const prefs = await pushPreferences(this.env.DB, userId, room.number);
    const recipient: Recipient = {
      user_id: userId,
      online: this.liveConnections().length > 0,
      push_enabled: prefs.push_enabled,
    };
    let state = this.store.pushState();
    const jobs: PushJob[] = [];
    let wakeAt: number | null = null;
    for (const message of messages) {
      const incoming = {
        room: room.key,
        room_kind: room.kind,
        room_muted: prefs.muted,
        mentioned: mentions(message, userId),
        message,
      };
      const decision = decideMessagePush(state, recipient, incoming, Date.now());
      state = decision.state;
      wakeAt = decision.wake_at;
      if (decision.push) jobs.push(messagePushJob(userId, decision.push));
    }
    await this.enqueuePushes(userId, state, jobs, wakeAt);
  }

  /** Enqueues push jobs, then keeps the decision state; a failed enqueue is retried by the caller's next call. */
  private async enqueuePushes(
    userId: string,
    state: PushState,
    jobs: PushJob[],
    wakeAt: number | null,
  ): Promise<void> {
    if (jobs.length > 0) await this.env.PUSH_QUEUE.sendBatch(jobs.map((body) => ({ body })));
    this.store.savePushState(state);
    this.store.setOwner(userId);
    if (wakeAt !== null) await this.wakeAt(wakeAt);
  }

  /** Collapse windows that closed with messages held: one push per room carrying the count. */
  private async releasePushes(now: number): Promise<number | null> {
    const userId = this.store.owner();
    if (!userId) return null;
    const prefs = await pushPreferences(this.env.DB, userId, null);
    const recipient: Recipient = {
      user_id: userId,
      online: this.liveConnections().length > 0,
      push_enabled: prefs.push_enabled,
    };
    const released = releaseHeldPushes(this.store.pushState(), recipient, now);
    await this.enqueuePushes(
      userId,
      released.state,
      released.pushes.map((intent) => messagePushJob(userId, intent)),
      null,
    );
    return released.wake_at;
  }

  /** The inbox update for one room, with the total over every attached room; counters missing are rebuilt. */
  private async inboxEvent(me: Profile, room: string): Promise<UserEvent | null> {
    const rooms = this.store.attachedRooms();
    await Promise.allSettled(rooms.filter((key) => !this.unread.has(key)).map((key) => this.attach(me, key)));
    const counter = this.unread.get(room);
    if (!counter) return null;
    let total = 0;
    for (const key of rooms) {
      const other = this.unread.get(key);
      if (other) total += unreadCount(other);
    }
    return {
      type: "inbox",
      room,
      unread: unreadCount(counter),
      mentions: 0,
      last_message: counter.last_message,
      total_unread: total,
    };
  }

  // ---- commands ----

  protected async onCommand(connection: Connection, command: Command): Promise<Executed> {
    if (command.kind === "auth") return { outcome: await this.authenticate(connection, command.token) };
    const user = connection.session.user;
    if (!user) return { outcome: refuse.unauthenticated() };
    if (isRoomCommand(command) || command.kind === "send_direct")
      return { outcome: await dispatch(this.env, user, command) };
    switch (command.kind) {
      case "refresh_token":
        return { outcome: await this.refresh(connection, user, command.token) };
      case "subscribe":
        return this.subscribe(connection, user, command);
      case "unsubscribe": {
        const room = await roomKeyOf(this.env, command.room);
        if (!room) return { outcome: refuse.roomNotFound() };
        const was = room in connection.session.subs;
        const { [room]: _, ...subs } = connection.session.subs;
        connection.update({ subs });
        const elsewhere = this.liveSessions(connection.ws).some((s) => room in s.subs);
        if (was && !elsewhere) await roomStub(this.env, room).detachUser(user.id, true);
        return { outcome: ok({ kind: "unsubscribed", room }) };
      }
      case "follow":
        connection.update({ follows: [...new Set([...connection.session.follows, command.scope])] });
        return { outcome: ok({ kind: "followed", scope: command.scope }) };
      case "unfollow":
        connection.update({ follows: connection.session.follows.filter((s) => s !== command.scope) });
        return { outcome: ok({ kind: "unfollowed", scope: command.scope }) };
      case "watch":
        return { outcome: await this.watch(connection, user, command.user) };
      case "unwatch": {
        if (!(await this.mayWatch(user.id, command.user))) return { outcome: presenceForbidden() };
        connection.update({ watches: connection.session.watches.filter((peer) => peer !== command.user) });
        if (!this.liveSessions(connection.ws).some((s) => s.watches.includes(command.user))) {
          await this.unwatchPeer(user.id, command.user);
        }
        return { outcome: ok({ kind: "unwatched", user: command.user }) };
      }
      case "notifications_read":
        return { outcome: refuse.badRequest("notifications are not available yet") };
      case "list_rooms":
        return { outcome: await this.listRooms(user) };
      case "members": {
        const room = await roomKeyOf(this.env, command.room);
        if (!room) return { outcome: refuse.roomNotFound() };
        const view = (await roomStub(this.env, room).view(user.id)) as Outcome<RoomView>;
        if (!view.ok) return { outcome: view };
        const members = view.value.members.map((m) => ({ id: m.user_id, name: m.name, avatar: m.avatar }));
        return { outcome: ok({ kind: "members", room, members }) };
      }
      case "create_direct": {
        const opened = await openDirectRoom(this.env, user, command.to);
        return { outcome: opened.ok ? ok({ kind: "direct", room: opened.value }) : opened };
      }
    }
  }

  private async authenticate(connection: Connection, token: string): Promise<CommandOutcome> {
    const identity = await verifyChatToken(jwtConfigOf(this.env), token);
    if (!identity.ok) return identity;
    const user = identity.value.user;
    const current = connection.session.user;
    const refusal = reauthRefusal(connection.session, user.id);
    if (refusal) return refuse.badRequest(refusal);
    const known = this.store.profile();
    if (known && known.id !== user.id) return refuse.forbidden("this socket belongs to another user");
    const expiresAt = identity.value.expiresAt * 1000;
    connection.update({ user: current ?? user, expiresAt, authenticatedBy: "frame" });
    if (!current) await this.cameOnline(user);
    return ok({ kind: "auth", user: current ?? user, expires_at: new Date(expiresAt).toISOString() });
  }

  private async refresh(connection: Connection, user: Profile, token: string): Promise<CommandOutcome> {
    const identity = await verifyChatToken(jwtConfigOf(this.env), token);
    if (!identity.ok) return identity;
    if (identity.value.user.id !== user.id) return refuse.forbidden("the new token names another user");
    const expiresAt = identity.value.expiresAt * 1000;
    connection.update({ expiresAt });
    return ok({ kind: "token_refreshed", user, expires_at: new Date(expiresAt).toISOString() });
  }

  /**
   * Subscribes one session to a room, resuming after `since`. The room registers us and answers the backlog up
   * to `head` in one step; live events that overtake that answer are held and replayed past the seam.
   */
  private async subscribe(
    connection: Connection,
    user: Profile,
    command: Extract<Command, { kind: "subscribe" }>,
  ): Promise<Executed> {
    const room = await roomKeyOf(this.env, command.room);
    if (!room) return { outcome: refuse.roomNotFound() };
    const since = command.since === null ? null : { seq: command.since, epoch: command.epoch ?? null };
    const { result, held } = await this.attachHolding(user, room, since, true);
    if (!result.ok) return { outcome: result };
    const { head, epoch, backlog } = result.value;
    connection.update({ subs: { ...connection.session.subs, [room]: head } });
    const overtaken = held.filter((e) => !isDurable(e) || e.seq > head);
    return {
      outcome: ok({ kind: "subscribed", room, head, epoch }),
      before: [...backlog, ...overtaken],
    };
  }

  /** The user's rooms, most recently active first, as their room list shows them. */
  private async listRooms(user: Profile): Promise<CommandOutcome> {
    const { items } = await roomsOfUser(this.env.DB, user.id, MAX_LISTED_ROOMS, null);
    const listings: RoomListing[] = items.map((item) => ({
      // The index keeps no epochs; the user's rooms are attached while they are online, so their briefs are known.
      room: { ...item.room, epoch: this.roomInfo(item.room.key)?.epoch ?? "" },
      role: item.role,
      unread: item.unread_count,
      mentions: 0,
      last_message: item.last_message,
      pinned_at: null,
    }));
    return ok({ kind: "rooms", listings });
  }

  /** Seed 001: listening to a peer, and unlistening, need a direct room with them. */
  private async mayWatch(userId: string, peer: string): Promise<boolean> {
    const shares = await roomExists(this.env.DB, directRoomKey(userId, peer));
    return canWatchPresence(shares, peer === userId);
  }

  private async watch(connection: Connection, user: Profile, peer: string): Promise<CommandOutcome> {
    if (!(await this.mayWatch(user.id, peer))) return presenceForbidden();
    const state = await userStub(this.env, peer).addWatcher(user.id);
    this.store.startWatching(peer);
    connection.update({ watches: [...new Set([...connection.session.watches, peer])] });
    return ok({ kind: "watching", user: peer, online: state.online, last_seen: state.last_seen });
  }
}

/** Whether the events change what an inbox update shows: a message, or the user's own read marker. */
function touchesInbox(events: RoomEvent[], userId: string): boolean {
  return events.some(
    (e) =>
      e.type === "message" ||
      e.type === "message_deleted" ||
      e.type === "message_updated" ||
      (e.type === "read" && e.user_id === userId),
  );
}

/** The longest room list a socket asks for at once. */
const MAX_LISTED_ROOMS = 200;

const presenceForbidden = () =>
  refuse.forbidden("presence is visible only between users who share a direct room");
