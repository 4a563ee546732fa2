import { type Close, verifyDialectToken } from "../dialects/codec";
import { CloseCode } from "../domain/close-codes";
import type { Command, CommandOutcome } from "../domain/commands";
import { type Outcome, ok, refuse } from "../domain/errors";
import type { ChatEvent, DurableEvent, RoomEvent, RoomListing, UserEvent } from "../domain/events";
import { isDurable } from "../domain/events";
import { directRoomKey } from "../domain/ids";
import { countsAsUnread } from "../domain/lifecycle";
import { mentions } from "../domain/mentions";
import type { Notification, Profile, Room, RoomBrief } from "../domain/model";
import { type NotificationDraft, notificationPreview } from "../domain/notifications";
import { canWatchPresence, presencePolicyOf } from "../domain/permissions";
import { applyRoomEvents, mentionsCount, type RoomUnread, roomUnread, unreadCount } from "../domain/unread";
import { type Env, limitsOf, listVar, pushCollapseWindowMs } from "../env";
import { decideMessagePush, type PushState, type Recipient, releaseHeldPushes } from "../push/decision";
import { messagePushJob, type PushJob } from "../push/jobs";
import { isRoomCommand } from "../rooms/commands";
import { dispatch, openDirectRoom, roomKeyOf } from "../rooms/dispatch";
import type { RoomView } from "../rooms/membership";
import type { Attached } from "../rooms/room-do";
import { roomStub, userStub } from "../rooms/stubs";
import type { Connection, Executed } from "../sessions/host";
import { followsRoom, frameUser, reauthRefusal, type Session, type SocketInit } from "../sessions/session";
import { type Job, type KeptSessions, SocketObject } from "../sessions/socket-object";
import { notBanned } from "../storage/bans";
import { mentionCountsOf, roomsOfUser } from "../storage/room-index";
import { pushPreferences, roomExists, roomKeysOf } from "../storage/user-rows";
import { NotificationStore } from "./notification-store";
import { UserStore } from "./user-store";

/**
 * One user: the single writer of their presence, follows, unread counters and push decisions; host of their
 * user-scoped sockets on every device. Room events arrive once per event batch from each room's object and are
 * written to every interested socket here.
 */
export class UserDO extends SocketObject {
  private readonly store: UserStore;
  private readonly feed: NotificationStore;
  /** Events of rooms whose subscription is in flight, held until the subscription's seam is known. */
  private readonly holding = new Map<string, RoomEvent[]>();
  private briefs: Map<string, RoomBrief> | undefined;
  /**
   * Unread and mentions per attached room, in memory only: rebuilt from the summary each room returns on attach,
   * moved by the room's events, so delivery writes no counter. A room missing here (the object was evicted, or a
   * read reached into history held only as a count) is asked again when an inbox update needs it.
   */
  private readonly unread = new Map<string, RoomUnread>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new UserStore(ctx.storage.sql);
    this.feed = new NotificationStore(ctx.storage.sql);
  }

  // ---- sockets ----

  protected async admit(_init: SocketInit): Promise<{ room: null } | Response> {
    return { room: null };
  }

  protected override async onOpen(connection: Connection): Promise<void> {
    // One user's sockets share this object: past the cap, a new one is closed before it costs anything.
    if (this.ctx.getWebSockets().length > limitsOf(this.env).maxSocketsPerUser) {
      connection.close({ code: CloseCode.ConnectionClosed, reason: "too many connections for this user" });
      return;
    }
    if (!connection.session.user) return;
    if (listVar(this.env.SINGLE_DEVICE_DIALECTS).includes(connection.session.dialect)) {
      this.replaceOlderDevices(connection);
    }
    await this.cameOnline(connection.session.user);
  }

  /** Single-device mode: the user's older sockets of the same dialect make way for this one (4008). */
  private replaceOlderDevices(connection: Connection): void {
    for (const older of this.liveConnections(connection.ws)) {
      if (older.session.dialect === connection.session.dialect) {
        older.close({ code: CloseCode.NewDevice, reason: "New device connection" });
      }
    }
  }

  /** Closes every socket of the user hosted here (an admin disconnect, a ban); answers how many. */
  async disconnect(close: Close): Promise<number> {
    const connections = this.liveConnections();
    for (const connection of connections) connection.close(close);
    return connections.length;
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

  protected override keptSessions(): KeptSessions {
    return this.store;
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
    if (this.liveConnections().length !== 1) return;
    await this.goOnline(user);
    // After the answer that authenticated the socket (sent in this turn), what happened while it was offline.
    setTimeout(() => this.deliverMail(), 0);
  }

  private deliverMail(): void {
    const connections = this.liveConnections();
    if (connections.length === 0) return;
    const mail = this.store.takeMail() as ChatEvent[];
    for (const connection of connections) connection.send(mail.flatMap((e) => connection.encode(e)));
  }

  /** A user event for every device now, or kept for the next connection when none is online. */
  private tell(event: ChatEvent, to = this.liveConnections()): void {
    if (this.liveConnections().length === 0) {
      this.store.mail(event);
      return;
    }
    for (const connection of to) connection.send(connection.encode(event));
  }

  /** Sessions that follow the notification feed. */
  private feedFollowers(): Connection[] {
    return this.liveConnections().filter((c) => c.session.follows.includes("notifications"));
  }

  private announceFeed(added: Notification[]): void {
    const followers = this.feedFollowers();
    if (followers.length === 0) return;
    const unread = this.feed.unreadCount();
    const events: UserEvent[] = [
      ...added.map((notification): UserEvent => ({ type: "notification", notification })),
      { type: "notification_count", unread },
    ];
    for (const connection of followers) connection.send(events.flatMap((e) => connection.encode(e)));
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
   * A room this user belongs to (or follows) has new events. Following sockets get them first; the unread and
   * mention counters move in memory (nothing is written for them); sockets that do not follow the room get the
   * user's own reads and an inbox update.
   */
  async receive(room: string, events: RoomEvent[]): Promise<void> {
    const held = this.holding.get(room);
    if (held) held.push(...events);
    const me = this.store.profile()?.id;
    const threaded = me ? this.threadEvents(room, events, me) : new Set<RoomEvent>();
    this.sockets.fanOut(
      events,
      (session, event) =>
        followsRoom(session, event.room) || (session.follows.includes("threads") && threaded.has(event)),
    );
    if (!me) return;
    const counter = this.unread.get(room);
    if (counter && !applyRoomEvents(counter, events, me)) this.unread.delete(room);
    if (this.reviseFeed(room, events)) this.announceFeed([]);
    const others = this.liveConnections().filter((c) => !followsRoom(c.session, room));
    if (others.length === 0 || !touchesInbox(events, me)) return;
    const reads = events.flatMap((e) => (e.type === "read" && e.user_id === me ? [e.seq] : []));
    const inbox = await this.inboxEvent(room);
    const userEvents: UserEvent[] = [
      ...reads.map((seq): UserEvent => ({ type: "room_read", room, seq })),
      ...(inbox ? [inbox] : []),
    ];
    for (const connection of others) connection.send(userEvents.flatMap((e) => connection.encode(e)));
  }

  /**
   * Notes the threads the user takes part in (a reply of theirs, a root of theirs that has replies) and returns
   * the events about those threads, for sessions following the "threads" scope.
   */
  private threadEvents(room: string, events: RoomEvent[], me: string): Set<RoomEvent> {
    const threaded = new Set<RoomEvent>();
    for (const event of events) {
      const message = "message" in event ? event.message : null;
      if (!message) continue;
      if (message.sender.id === me && message.parent_id !== null)
        this.store.joinThread(room, message.parent_id);
      if (message.sender.id === me && message.thread !== null) this.store.joinThread(room, message.id);
      const root = message.parent_id ?? (message.thread !== null ? message.id : null);
      if (root !== null && this.store.inThread(room, root)) threaded.add(event);
    }
    return threaded;
  }

  /** Edits and deletions reach the notification feed's entries; answers whether the feed changed. */
  private reviseFeed(room: string, events: readonly RoomEvent[]): boolean {
    let changed = false;
    for (const event of events) {
      if (event.type === "message_deleted") {
        if (this.feed.forgetMessage(room, event.message.id)) changed = true;
      } else if (event.type === "message_updated" && event.change === "edit") {
        this.feed.reviseMessage(room, event.message.id, notificationPreview(event.message.text));
      }
    }
    return changed;
  }

  /** The user was added to a room: if online, start following it; its listing reaches every device. */
  async joinedRoom(userId: string, listing: RoomListing, added: NotificationDraft | null): Promise<void> {
    this.store.setOwner(userId);
    const user = this.store.profile();
    if (user && this.liveConnections().length > 0) await this.attach(user, listing.room.key);
    this.tell({ type: "room_added", room: listing.room.key, listing });
    if (added) await this.notify(userId, [added]);
  }

  /**
   * The user lost a room (left, removed, banned, or it was deleted): its counters and feed entries go, and every
   * device hears of it, now or on its next connection.
   */
  async roomGone(
    userId: string,
    room: string,
    event: Extract<DurableEvent, { type: "room_deleted" | "member_left" }>,
  ): Promise<void> {
    this.store.setOwner(userId);
    this.store.forgetRoom(room);
    this.briefs?.delete(room);
    this.unread.delete(room);
    if (this.feed.forgetRoom(room)) this.announceFeed([]);
    const notice: ChatEvent =
      event.type === "room_deleted" ? event : { type: "room_removed", room, reason: event.reason };
    // Sessions following the room have the durable event from the room itself.
    this.tell(
      notice,
      this.liveConnections().filter((c) => notice.type === "room_removed" || !followsRoom(c.session, room)),
    );
  }

  /** A user event a room raised for this user (room pins, thread reads). */
  async userEvent(userId: string, event: UserEvent): Promise<void> {
    this.store.setOwner(userId);
    this.tell(event);
  }

  /** Feed entries from a room: each new one is announced with the new count to sessions following the feed. */
  async notify(userId: string, drafts: NotificationDraft[]): Promise<void> {
    this.store.setOwner(userId);
    const added = this.feed.add(drafts);
    if (added.length > 0) this.announceFeed(added);
  }

  /** A page of the notification feed, newest first, and the new-notifications count (HTTP `GET` of the feed). */
  async notifications(
    userId: string,
    limit: number,
    before: string | null,
  ): Promise<{ notifications: Notification[]; unread: number }> {
    this.store.setOwner(userId);
    const page = Math.max(1, Math.min(Math.floor(limit) || 1, MAX_FEED_PAGE));
    return { notifications: this.feed.list(page, before), unread: this.feed.unreadCount() };
  }

  /** Runs a user-scoped command for HTTP: the same path the user socket's commands take. */
  async userCommand(user: Profile, command: Command): Promise<CommandOutcome> {
    this.store.setOwner(user.id);
    return (await this.userScoped(user, command)) ?? refuse.badRequest(`${command.kind} needs a socket`);
  }

  /**
   * What a room owes this user while no path of theirs is attached to it: edits and deletions of messages in
   * their feed, and, when they have a push device, new messages for the push decision (deduplicated per message,
   * collapsed per room, muted rooms and the user's switch respected). Mentions and replies in the user's threads
   * push by the same decision as any message. Unread is not counted here: the room derives it from the read
   * marker when the user attaches again.
   */
  async offlineEvents(userId: string, room: Room, events: DurableEvent[]): Promise<void> {
    this.store.setOwner(userId);
    if (this.reviseFeed(room.key, events)) this.announceFeed([]);
    const messages = events.flatMap((e) => (e.type === "message" ? [e.message] : []));
    if (messages.length === 0) return;
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
      const decision = decideMessagePush(
        state,
        recipient,
        incoming,
        Date.now(),
        pushCollapseWindowMs(this.env),
      );
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
    const released = releaseHeldPushes(
      this.store.pushState(),
      recipient,
      now,
      pushCollapseWindowMs(this.env),
    );
    await this.enqueuePushes(
      userId,
      released.state,
      released.pushes.map((intent) => messagePushJob(userId, intent)),
      null,
    );
    return released.wake_at;
  }

  /** The inbox update for one room, with the total over every attached room; counters missing are rebuilt. */
  private async inboxEvent(room: string): Promise<UserEvent | null> {
    const me = this.store.profile();
    if (!me) return null;
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
      mentions: mentionsCount(counter),
      last_message: counter.last_message,
      total_unread: total,
    };
  }

  // ---- commands ----

  protected async onCommand(connection: Connection, command: Command): Promise<Executed> {
    if (command.kind === "auth") return { outcome: await this.authenticate(connection, command) };
    const user = connection.session.user;
    if (!user) return { outcome: refuse.unauthenticated() };
    const scoped = await this.userScoped(user, command);
    if (scoped) return { outcome: scoped };
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
      default:
        return { outcome: refuse.badRequest(`${command.kind} is not a user socket command`) };
    }
  }

  /** The commands that need no socket (HTTP runs them through `userCommand`); null for the others. */
  private async userScoped(user: Profile, command: Command): Promise<CommandOutcome | null> {
    if (isRoomCommand(command) || command.kind === "send_direct") return dispatch(this.env, user, command);
    switch (command.kind) {
      case "notifications_read":
        return this.readNotifications(command.id);
      case "list_rooms":
        return this.listRooms(user);
      case "members": {
        const room = await roomKeyOf(this.env, command.room);
        if (!room) return refuse.roomNotFound();
        const view = (await roomStub(this.env, room).view(user.id)) as Outcome<RoomView>;
        if (!view.ok) return view;
        const members = view.value.members.map((m) => ({ id: m.user_id, name: m.name, avatar: m.avatar }));
        return ok({ kind: "members", room, members });
      }
      case "create_direct": {
        const opened = await openDirectRoom(this.env, user, command.to);
        return opened.ok ? ok({ kind: "direct", room: opened.value }) : opened;
      }
      default:
        return null;
    }
  }

  /** Marks one entry read (`notification_count` follows) or all of them (`notifications_reset`). */
  private readNotifications(id: string | null): CommandOutcome {
    const at = new Date().toISOString();
    if (id === null) {
      if (this.feed.markAllRead(at) > 0) {
        const reset: UserEvent = { type: "notifications_reset", unread: 0 };
        for (const c of this.feedFollowers()) c.send(c.encode(reset));
      }
      return ok({ kind: "notifications_read", unread: 0 });
    }
    if (this.feed.markRead(id, at)) this.announceFeed([]);
    return ok({ kind: "notifications_read", unread: this.feed.unreadCount() });
  }

  private async authenticate(
    connection: Connection,
    command: Extract<Command, { kind: "auth" }>,
  ): Promise<CommandOutcome> {
    const identity = await verifyDialectToken(connection.codec, this.env, command.token);
    if (!identity.ok) return identity;
    const banned = await notBanned(this.env.DB, identity.value.user.id);
    if (!banned.ok) return banned;
    const current = connection.session.user;
    const refusal = reauthRefusal(connection.session, identity.value.user.id);
    if (refusal) return refuse.badRequest(refusal);
    const framed = frameUser(command, identity.value.user, listVar(this.env.STOMP_APP_IDS));
    if (!framed.ok) return framed;
    const user = framed.value;
    const known = this.store.profile();
    if (known && known.id !== user.id) return refuse.forbidden("this socket belongs to another user");
    const expiresAt = identity.value.expiresAt * 1000;
    connection.update({ user: current ?? user, expiresAt, authenticatedBy: "frame" });
    if (!current) await this.cameOnline(user);
    return ok({ kind: "auth", user: current ?? user, expires_at: new Date(expiresAt).toISOString() });
  }

  private async refresh(connection: Connection, user: Profile, token: string): Promise<CommandOutcome> {
    const identity = await verifyDialectToken(connection.codec, this.env, token);
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
    // Mentions from the live counter where the room is attached (exact now), else from D1.
    const counted = await mentionCountsOf(
      this.env.DB,
      user.id,
      items.filter((item) => !this.unread.has(item.room.key)).map((item) => item.room.number),
    );
    const listings: RoomListing[] = items.map((item) => ({
      // The index keeps no epochs; the user's rooms are attached while they are online, so their briefs are known.
      room: { ...item.room, epoch: this.roomInfo(item.room.key)?.epoch ?? "" },
      role: item.role,
      unread: item.unread_count,
      mentions: (() => {
        const counter = this.unread.get(item.room.key);
        return counter ? mentionsCount(counter) : (counted.get(item.room.number) ?? 0);
      })(),
      last_message: item.last_message,
      pinned_at: null,
    }));
    return ok({ kind: "rooms", listings });
  }

  /** Seed 001: listening to a peer, and unlistening, need a direct room with them. */
  private async mayWatch(userId: string, peer: string): Promise<boolean> {
    if (peer === userId) return false;
    const key = directRoomKey(userId, peer);
    const sharesDirectRoom = await roomExists(this.env.DB, key);
    const policy = presencePolicyOf(this.env.PRESENCE_POLICY);
    const consented =
      sharesDirectRoom && policy === "consent" ? await roomStub(this.env, key).presenceConsent(peer) : false;
    return canWatchPresence(policy, { sharesDirectRoom, consented, self: false });
  }

  private async watch(connection: Connection, user: Profile, peer: string): Promise<CommandOutcome> {
    if (!(await this.mayWatch(user.id, peer))) return presenceForbidden();
    const state = await userStub(this.env, peer).addWatcher(user.id);
    this.store.startWatching(peer);
    connection.update({ watches: [...new Set([...connection.session.watches, peer])] });
    return ok({ kind: "watching", user: peer, online: state.online, last_seen: state.last_seen });
  }
}

/**
 * Whether the events change what an inbox update shows: a message that counts as the user's unread, a deletion
 * or an edit, or the user's own read.
 */
function touchesInbox(events: readonly RoomEvent[], userId: string): boolean {
  return events.some(
    (e) =>
      (e.type === "message" && countsAsUnread(e.message, userId)) ||
      e.type === "message_deleted" ||
      (e.type === "message_updated" && e.change === "edit") ||
      (e.type === "read" && e.user_id === userId),
  );
}

/** The longest notification feed page. */
const MAX_FEED_PAGE = 100;

/** The longest room list a socket asks for at once. */
const MAX_LISTED_ROOMS = 200;

const presenceForbidden = () =>
  refuse.forbidden("presence is visible only to a peer who accepted your direct room");
