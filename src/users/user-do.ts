import { DurableObject } from "cloudflare:workers";
import { verifyChatToken } from "../auth/jwt";
import type { DialectName } from "../dialects/codec";
import { codecFor } from "../dialects/registry";
import type { Command, CommandOutcome } from "../domain/commands";
import { fail, type Outcome, ok } from "../domain/errors";
import type { DurableEvent, RoomEvent, UserEvent } from "../domain/events";
import { isDurable } from "../domain/events";
import { directRoomKey } from "../domain/ids";
import { mentions } from "../domain/mentions";
import type { Ack, Message, MessageDraft, Profile, Room } from "../domain/model";
import { canWatchPresence } from "../domain/permissions";
import { type Env, limitsOf } from "../env";
import { decideMessagePush, type PushState, type Recipient, releaseHeldPushes } from "../push/decision";
import { messagePushJob, type PushJob } from "../push/jobs";
import { answerClose, type Executed, readSocketUpgrade, type Session, SessionHost } from "../sessions/host";
import { loadProfile, pushPreferences, roomExists, roomKeysOf } from "../storage/user-rows";
import { UserStore } from "./user-store";

/**
 * One user: the single writer of their presence, subscriptions, unread counters and push decisions; host of
 * their user-scoped sockets on every device. Room events arrive once per event batch from each RoomDO and are
 * written to every interested socket here.
 */
export class UserDO extends DurableObject<Env> {
  private readonly store: UserStore;
  private readonly sockets: SessionHost;
  /** Events of rooms whose subscription is in flight, held until the subscription's seam is known. */
  private readonly holding = new Map<string, RoomEvent[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new UserStore(ctx.storage.sql);
    this.sockets = new SessionHost(ctx, limitsOf(env).maxFrameBytes, (ws, session, command) =>
      this.execute(ws, session, command),
    );
  }

  // ---- sockets ----

  override async fetch(request: Request): Promise<Response> {
    const init = readSocketUpgrade(request);
    if (init instanceof Response) return init;
    const response = this.sockets.accept(
      { dialect: init.dialect, user: init.user, room: null },
      init.protocol,
    );
    if (init.user) await this.cameOnline(init.user);
    await this.wakeAt(Date.now() + 15_000);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sockets.onMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
    await this.socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.socketGone(ws);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.releasePushes(now);
    const next = this.sockets.sweep(now);
    if (next !== null) await this.wakeAt(next);
  }

  private async wakeAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Authenticated sockets other than `except`. */
  private liveSockets(except?: WebSocket): [WebSocket, Session][] {
    return [...this.sockets.sessions()].filter(([ws, s]) => ws !== except && s.user !== null);
  }

  private async socketGone(ws: WebSocket): Promise<void> {
    const session = this.sockets.session(ws);
    if (!session?.user) return;
    const user = session.user;
    const others = this.liveSockets(ws);
    const stillSubscribed = new Set(others.flatMap(([, s]) => Object.keys(s.subs)));
    const stillWatched = new Set(others.flatMap(([, s]) => watchesOf(s)));
    const subscribed = Object.keys(session.subs);
    session.subs = {};
    this.sockets.save(ws, session);
    if (others.length === 0) return this.wentOffline(user);
    await Promise.allSettled([
      ...subscribed
        .filter((room) => !stillSubscribed.has(room))
        .map((room) => this.room(room).detachUser(user.id, true)),
      ...watchesOf(session)
        .filter((peer) => !stillWatched.has(peer))
        .map((peer) => this.unwatchPeer(user.id, peer)),
    ]);
  }

  // ---- presence ----

  /** The first authenticated socket makes the user online: rooms start delivering, watchers hear of it. */
  private async cameOnline(user: Profile): Promise<void> {
    this.store.saveProfile(user);
    if (this.liveSockets().length === 1) await this.goOnline(user);
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
    await Promise.allSettled([
      ...attached.map((key) => this.room(key).detachUser(user.id)),
      ...watching.map((peer) => this.unwatchPeer(user.id, peer)),
    ]);
    await this.tellWatchers(user.id, false, at);
    // A device that connected while the detaches were in flight found the user still online and attached
    // nothing; the detaches may have undone its registrations, so register again.
    if (this.liveSockets().length > 0) await this.goOnline(user);
  }

  private async attach(user: Profile, key: string): Promise<void> {
    const result = await this.room(key).attachUser(user, null, false);
    if (result.ok) this.store.markAttached(key);
  }

  private async tellWatchers(userId: string, online: boolean, lastSeen: string | null): Promise<void> {
    const calls = this.store
      .watchers()
      .map((watcher) => this.user(watcher).peerPresence(userId, online, lastSeen));
    await Promise.allSettled(calls);
  }

  /** A watcher registers; answers this user's current state. */
  async addWatcher(watcherId: string): Promise<{ online: boolean; last_seen: string | null }> {
    this.store.addWatcher(watcherId);
    return { online: this.liveSockets().length > 0, last_seen: this.store.lastSeen() };
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
    for (const [ws, session] of this.liveSockets()) {
      if (watchesOf(session).includes(peerId)) this.sockets.send(ws, this.encode(session, event));
    }
  }

  private async unwatchPeer(userId: string, peer: string): Promise<void> {
    this.store.stopWatching(peer);
    await this.user(peer).removeWatcher(userId);
  }

  // ---- room events ----

  /**
   * A room this user belongs to (or follows) has new events. Following sockets get them before the unread
   * counters are written: outgoing frames wait for pending storage writes, so writing first would hold every
   * frame until the commit. The inbox summary is read only when some socket does not follow the room.
   */
  async receive(room: string, events: RoomEvent[]): Promise<void> {
    const held = this.holding.get(room);
    if (held) held.push(...events);
    this.sockets.fanOut(events, (session, key) => key in session.subs || streamsAllRooms(session.dialect));
    this.countUnread(room, events);
    const others = this.liveSockets().filter(
      ([, session]) => !(room in session.subs) && !streamsAllRooms(session.dialect),
    );
    const inbox = others.length > 0 ? this.inboxEvent(room, events) : null;
    if (!inbox) return;
    for (const [ws, session] of others) this.sockets.send(ws, this.encode(session, inbox));
  }

  /** The user was added to a room: if online, start following it. */
  async joinedRoom(room: string): Promise<void> {
    const user = this.store.profile();
    const sockets = this.liveSockets();
    if (!user || sockets.length === 0) return;
    await this.attach(user, room);
    const event: UserEvent = { type: "room_added", room };
    for (const [ws, session] of sockets) this.sockets.send(ws, this.encode(session, event));
  }

  /**
   * Messages for this user while no path of theirs was attached to the room: unread counts, and the push
   * decision (deduplicated per message, collapsed per room, muted rooms and the user's switch respected).
   */
  async offlineMessages(userId: string, room: Room, messages: Message[]): Promise<void> {
    this.countUnread(
      room.key,
      messages.map((message) => ({ type: "message", room: room.key, seq: message.seq, message })),
      userId,
    );
    const prefs = await pushPreferences(this.env.DB, userId, room.number);
    const recipient: Recipient = {
      user_id: userId,
      online: this.liveSockets().length > 0,
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
  private async releasePushes(now: number): Promise<void> {
    const userId = this.store.owner();
    if (!userId) return;
    const prefs = await pushPreferences(this.env.DB, userId, null);
    const recipient: Recipient = {
      user_id: userId,
      online: this.liveSockets().length > 0,
      push_enabled: prefs.push_enabled,
    };
    const released = releaseHeldPushes(this.store.pushState(), recipient, now);
    await this.enqueuePushes(
      userId,
      released.state,
      released.pushes.map((intent) => messagePushJob(userId, intent)),
      released.wake_at,
    );
  }

  /** Unread counters: others' messages add, the user's own read marker clears, in event order. */
  private countUnread(room: string, events: RoomEvent[], me = this.store.profile()?.id): void {
    let unread: Message[] = [];
    const flush = () => {
      if (unread.length > 0) this.store.addUnread(room, unread);
      unread = [];
    };
    for (const event of events) {
      if (event.type === "message" && event.message.sender.id !== me) unread.push(event.message);
      if (event.type === "read" && event.user_id === me) {
        flush();
        this.store.readUpTo(room, event.seq);
      }
    }
    flush();
  }

  private inboxEvent(room: string, events: RoomEvent[]): UserEvent | null {
    const touched = events.some(
      (e) => e.type === "message" || (e.type === "read" && e.user_id === this.store.profile()?.id),
    );
    if (!touched) return null;
    const summary = this.store.inbox(room);
    return { type: "inbox", room, unread: summary.unread, last_message: summary.last_message };
  }

  private encode(session: Session, event: UserEvent | RoomEvent): string[] {
    return codecFor(session.dialect).encodeEvent(session.state, event, this.sockets.contextOf(session));
  }

  // ---- commands ----

  private room(key: string) {
    return this.env.ROOMS.get(this.env.ROOMS.idFromName(key));
  }

  private user(id: string) {
    return this.env.USERS.get(this.env.USERS.idFromName(id));
  }

  private async execute(ws: WebSocket, session: Session, command: Command): Promise<Executed> {
    if (command.kind === "auth") return { outcome: await this.authenticate(ws, session, command.token) };
    const user = session.user;
    if (!user) return { outcome: fail("unauthorized", "authenticate first") };
    switch (command.kind) {
      case "subscribe":
        return this.subscribe(ws, session, user, command.room, command.since);
      case "unsubscribe": {
        const was = command.room in session.subs;
        delete session.subs[command.room];
        this.sockets.save(ws, session);
        const elsewhere = this.liveSockets(ws).some(([, s]) => command.room in s.subs);
        if (was && !elsewhere) await this.room(command.room).detachUser(user.id, true);
        return { outcome: ok({ kind: "unsubscribed", room: command.room }) };
      }
      case "watch":
        return { outcome: await this.watch(ws, session, user, command.user) };
      case "send":
      case "send_direct":
      case "typing":
      case "read":
        return { outcome: await this.perform(user, command) };
      case "unwatch": {
        if (!(await this.mayWatch(user.id, command.user))) return { outcome: presenceForbidden() };
        const watches = watchesOf(session).filter((peer) => peer !== command.user);
        setWatches(session, watches);
        this.sockets.save(ws, session);
        if (!this.liveSockets(ws).some(([, s]) => watchesOf(s).includes(command.user))) {
          await this.unwatchPeer(user.id, command.user);
        }
        return { outcome: ok({ kind: "unwatched", user: command.user }) };
      }
    }
  }

  /** Commands that need no session: from a socket, or from a dialect's HTTP endpoints. */
  async perform(
    user: Profile,
    command: Extract<Command, { kind: "send" | "send_direct" | "typing" | "read" }>,
  ): Promise<CommandOutcome> {
    switch (command.kind) {
      case "send":
        return sent(command.room, await this.room(command.room).post(user, command.draft));
      case "send_direct":
        return this.sendDirect(user, command.to, command.draft);
      case "typing": {
        const done = await this.room(command.room).setTyping(user, command.typing);
        return done.ok ? ok({ kind: "typing" }) : done;
      }
      case "read": {
        const read = await this.room(command.room).markRead(user.id, command.seq);
        return read.ok ? ok({ kind: "read", room: command.room, seq: read.value.seq }) : read;
      }
    }
  }

  private async authenticate(ws: WebSocket, session: Session, token: string): Promise<CommandOutcome> {
    if (session.user) return fail("bad_request", "already authenticated");
    const identity = await verifyChatToken(this.env, token);
    if (!identity.ok) return identity;
    const known = this.store.profile();
    if (known && known.id !== identity.value.user.id)
      return fail("forbidden", "this socket belongs to another user");
    session.user = identity.value.user;
    this.sockets.save(ws, session);
    await this.cameOnline(identity.value.user);
    return ok({ kind: "auth", user: identity.value.user });
  }

  /**
   * Subscribes one session to a room, resuming after `since`. The room registers us and answers the backlog up
   * to `head` in one step; live events that overtake that answer are held and replayed past the seam.
   */
  private async subscribe(
    ws: WebSocket,
    session: Session,
    user: Profile,
    room: string,
    since: number | null,
  ): Promise<Executed> {
    const held: RoomEvent[] = this.holding.get(room) ?? [];
    this.holding.set(room, held);
    let result: Outcome<{ head: number; backlog: DurableEvent[] }>;
    try {
      result = await this.room(room).attachUser(user, since, true);
    } finally {
      if (this.holding.get(room) === held) this.holding.delete(room);
    }
    if (!result.ok) return { outcome: result };
    const { head, backlog } = result.value;
    this.store.markAttached(room);
    session.subs[room] = head;
    this.sockets.save(ws, session);
    const overtaken = held.filter((e) => !isDurable(e) || e.seq > head);
    return {
      outcome: ok({ kind: "subscribed", room, head }),
      before: [...backlog, ...overtaken],
    };
  }

  private async sendDirect(user: Profile, to: string, draft: MessageDraft): Promise<CommandOutcome> {
    if (to === user.id) return fail("bad_request", "cannot message yourself");
    const key = directRoomKey(user.id, to);
    const peer = (await loadProfile(this.env.DB, to)) ?? { id: to, name: null, avatar: null };
    const created = await this.room(key).create({
      key,
      kind: "direct",
      creator: user,
      members: [{ profile: peer, role: "member" }],
    });
    if (!created.ok) return created;
    return sent(key, await this.room(key).post(user, draft));
  }

  /** Seed 001: listening to a peer, and unlistening, need a direct room with them. */
  private async mayWatch(userId: string, peer: string): Promise<boolean> {
    const shares = await roomExists(this.env.DB, directRoomKey(userId, peer));
    return canWatchPresence(shares, peer === userId);
  }

  private async watch(ws: WebSocket, session: Session, user: Profile, peer: string): Promise<CommandOutcome> {
    if (!(await this.mayWatch(user.id, peer))) return presenceForbidden();
    const state = await this.user(peer).addWatcher(user.id);
    this.store.startWatching(peer);
    setWatches(session, [...new Set([...watchesOf(session), peer])]);
    this.sockets.save(ws, session);
    return ok({ kind: "watching", user: peer, online: state.online, last_seen: state.last_seen });
  }
}

const presenceForbidden = () =>
  fail("forbidden", "presence is visible only between users who share a direct room");

function sent(room: string, ack: Outcome<Ack>): CommandOutcome {
  return ack.ok ? ok({ kind: "sent", room, ack: ack.value }) : ack;
}

/** Dialects whose sessions receive every room of the user without subscribing (Haraj's stream). */
function streamsAllRooms(dialect: DialectName): boolean {
  return codecFor(dialect).streamsAllRooms === true;
}

function watchesOf(session: Session): string[] {
  return session.watches ?? [];
}

function setWatches(session: Session, watches: string[]): void {
  session.watches = watches;
}
