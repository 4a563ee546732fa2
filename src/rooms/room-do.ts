import { DurableObject } from "cloudflare:workers";
import { verifyChatToken } from "../auth/jwt";
import type { Command } from "../domain/commands";
import { fail, type Outcome, ok } from "../domain/errors";
import type { DurableEvent, RoomEvent } from "../domain/events";
import { eventVisibleTo, isDurable } from "../domain/events";
import { newMessageId } from "../domain/ids";
import type { Ack, Member, Message, MessageDraft, Profile, Role, Room, RoomKind } from "../domain/model";
import {
  canDeleteRoom,
  canManageMember,
  canParticipate,
  canUpdateRoom,
  type Standing,
  standingOf,
} from "../domain/permissions";
import { type Bucket, takeToken } from "../domain/rate-limit";
import { checkDraftLimits, draftSchema, firstIssue } from "../domain/validation";
import { type Env, type Limits, limitsOf, listVar } from "../env";
import { type WebhookOccurrence, webhookJobs } from "../push/webhooks";
import { answerClose, type Executed, readSocketUpgrade, type Session, SessionHost } from "../sessions/host";
import {
  deleteMembershipRow,
  deleteRoomRow,
  flushRoomRows,
  insertRoomRow,
  readMessageRows,
  updateRoomRow,
  upsertMembershipRows,
} from "../storage/room-rows";
import { HOT_EVENTS, RoomStore } from "./room-store";

export interface RoomInit {
  key: string;
  kind: RoomKind;
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
  private?: boolean;
  creator: Profile;
  /** Other initial members; the creator becomes owner (both users are plain members of a direct room). */
  members: { profile: Profile; role: Role }[];
}

export interface RoomPatch {
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
  private?: boolean;
}

export interface RoomView {
  room: Room;
  members: (Member & { name: string | null; avatar: string | null })[];
  /** The caller's role, or null for a viewer of a public live room. */
  role: Role | null;
  /** Sequence number of the newest durable event. */
  head: number;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit: number;
}

/** Typing indicators expire unless renewed. */
export const TYPING_TTL_MS = 10_000;
/** D1 lags the room by at most this much under normal operation. */
export const FLUSH_DELAY_MS = 250;
/** Offline members are told of new messages (for push) at most this often. */
export const OFFLINE_NOTIFY_DELAY_MS = 1_000;
/** A resume that would replay more than this is refused: the client reloads history instead. */
export const RESUME_LIMIT = 20_000;
const D1_PAGE = 500;
const OFFLINE_CURSOR = "offline_notified_seq";
const WEBHOOK_CURSOR = "webhooks_enqueued_seq";

const notFound = () => fail("not_found", "room not found");
const forbidden = (message = "not a member of this room") => fail("forbidden", message);

/**
 * One room: the single writer of its sequence, log, membership and D1 rows; host of room-scoped sockets;
 * fan-out to its sockets and to the UserDOs of online users.
 */
export class RoomDO extends DurableObject<Env> {
  private readonly store: RoomStore;
  private readonly sockets: SessionHost;
  private readonly limits: Limits;
  private readonly buckets = new Map<string, Bucket>();
  /** Events raised since the last fan-out; flushed together so a burst becomes one frame per socket. */
  private pending: RoomEvent[] = [];
  private fanOutScheduled = false;
  /** Per attached user: events waiting for the in-flight delivery to finish (keeps order, batches bursts). */
  private readonly deliveries = new Map<string, { queue: RoomEvent[]; running: boolean }>();
  private flushFailures = 0;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql);
    this.limits = limitsOf(env);
    this.sockets = new SessionHost(ctx, this.limits.maxFrameBytes, (ws, session, command) =>
      this.execute(ws, session, command),
    );
  }

  // ---- lifecycle and membership (HTTP API) ----

  async create(init: RoomInit): Promise<Outcome<{ room: Room; created: boolean }>> {
    const existing = this.store.room();
    if (existing) {
      return init.kind === "direct" && existing.kind === "direct"
        ? ok({ room: existing, created: false })
        : fail("conflict", "a room with this key exists");
    }
    const now = new Date().toISOString();
    const base: Omit<Room, "number"> = {
      key: init.key,
      kind: init.kind,
      name: init.name ?? null,
      description: init.description ?? null,
      metadata: init.metadata ?? {},
      private: init.private ?? false,
      created_by: init.creator.id,
      created_at: now,
    };
    const initial = new Map<string, { profile: Profile; role: Role }>();
    for (const m of init.members) initial.set(m.profile.id, m);
    initial.set(init.creator.id, {
      profile: init.creator,
      role: init.kind === "direct" ? "member" : "owner",
    });
    const members = [...initial.values()].map((m) => ({
      user_id: m.profile.id,
      role: m.role,
      joined_at: now,
    }));
    const number = await insertRoomRow(this.env.DB, base, members);
    if (number === null) return fail("conflict", "a room with this key exists");
    const room: Room = { ...base, number };
    this.ctx.storage.transactionSync(() => {
      this.store.saveRoom(room);
      for (const m of initial.values()) this.store.putMember(m.profile, m.role, now);
    });
    await this.notifyJoined(room, [...initial.keys()]);
    return ok({ room, created: true });
  }

  async view(userId: string): Promise<Outcome<RoomView>> {
    const room = this.store.room();
    if (!room) return notFound();
    const standing = this.standing(room, userId);
    if (!canParticipate(standing)) return forbidden();
    return ok({
      room,
      members: this.store.memberProfiles(),
      role: standing.kind === "member" ? standing.role : null,
      head: this.store.head(),
    });
  }

  /** The caller's standing, for the Worker's checks on routes that do not otherwise reach the room. */
  async access(userId: string): Promise<Outcome<{ room: Room; role: Role | null }>> {
    const room = this.store.room();
    if (!room) return notFound();
    const standing = this.standing(room, userId);
    if (!canParticipate(standing)) return forbidden();
    return ok({ room, role: standing.kind === "member" ? standing.role : null });
  }

  async update(actor: string, patch: RoomPatch): Promise<Outcome<Room>> {
    const room = this.store.room();
    if (!room) return notFound();
    const standing = this.standing(room, actor);
    if (!canParticipate(standing)) return forbidden();
    if (room.kind === "direct" || !canUpdateRoom(standing))
      return forbidden("only owners and admins change a room");
    const updated: Room = {
      ...room,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.metadata !== undefined ? { metadata: patch.metadata } : {}),
      ...(patch.private !== undefined ? { private: patch.private } : {}),
    };
    await updateRoomRow(this.env.DB, updated, new Date().toISOString());
    const event = this.ctx.storage.transactionSync(() => {
      this.store.saveRoom(updated);
      return this.store.appendEvent((seq) => ({ type: "room_updated", room: room.key, seq, info: updated }));
    });
    this.publish(event);
    if (updated.private && !room.private) this.evictNonMembers();
    return ok(updated);
  }

  async destroy(actor: string): Promise<Outcome<null>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canDeleteRoom(this.standing(room, actor))) return forbidden("only owners delete a room");
    await deleteRoomRow(this.env.DB, room.number);
    const event: DurableEvent = { type: "room_deleted", room: room.key, seq: this.store.head() + 1 };
    this.publish(event);
    this.flushFanOut();
    for (const [ws, session] of this.sockets.sessions())
      this.sockets.close(ws, session, 4004, "room deleted");
    this.ctx.storage.transactionSync(() => this.store.wipe());
    await this.ctx.storage.deleteAlarm();
    return ok(null);
  }

  async addMembers(actor: string, members: { profile: Profile; role: Role }[]): Promise<Outcome<Member[]>> {
    const room = this.store.room();
    if (!room) return notFound();
    const standing = this.standing(room, actor);
    for (const m of members) {
      if (!canManageMember(room, standing, this.store.roleOf(m.profile.id), m.role)) {
        return forbidden(
          room.kind === "direct" ? "direct rooms have fixed members" : "not allowed to add this member",
        );
      }
    }
    const now = new Date().toISOString();
    const fresh = members.filter((m) => this.store.roleOf(m.profile.id) === null);
    await upsertMembershipRows(
      this.env.DB,
      room.key,
      members.map((m) => ({ user_id: m.profile.id, role: m.role, joined_at: now })),
    );
    const { added, events } = this.ctx.storage.transactionSync(() => {
      const added = members.map((m) => this.store.putMember(m.profile, m.role, now));
      const events = fresh.map((m) => {
        const member = added.find((a) => a.user_id === m.profile.id) as Member;
        this.store.setBanned(m.profile.id, false, now);
        return this.store.appendEvent((seq) => ({
          type: "member_joined",
          room: room.key,
          seq,
          member,
          profile: m.profile,
        }));
      });
      return { added, events };
    });
    for (const e of events) this.publish(e);
    await this.notifyJoined(
      room,
      events.map((e) => e.member.user_id),
    );
    return ok(added);
  }

  async setRole(actor: string, userId: string, role: Role): Promise<Outcome<Member>> {
    const room = this.store.room();
    if (!room) return notFound();
    const current = this.store.roleOf(userId);
    if (!current) return fail("not_found", "not a member");
    if (!canManageMember(room, this.standing(room, actor), current, role))
      return forbidden("not allowed to change this role");
    if (current === "owner" && role !== "owner" && this.store.ownerCount() === 1) {
      return fail("conflict", "a room keeps at least one owner");
    }
    const joinedAt =
      this.store.members().find((m) => m.user_id === userId)?.joined_at ?? new Date().toISOString();
    await upsertMembershipRows(this.env.DB, room.key, [{ user_id: userId, role, joined_at: joinedAt }]);
    const member = this.store.putMember({ id: userId, name: null, avatar: null }, role, joinedAt);
    return ok(member);
  }

  /** Removes `userId`; when `actor === userId` this is leaving. */
  async removeMember(actor: string, userId: string): Promise<Outcome<null>> {
    const room = this.store.room();
    if (!room) return notFound();
    const current = this.store.roleOf(userId);
    if (!current) return fail("not_found", "not a member");
    const leaving = actor === userId;
    if (leaving) {
      if (room.kind === "direct") return forbidden("direct rooms have fixed members");
      if (current === "owner" && this.store.ownerCount() === 1 && this.store.memberIds().length > 1) {
        return fail("conflict", "the last owner hands ownership on before leaving");
      }
    } else if (!canManageMember(room, this.standing(room, actor), current, null)) {
      return forbidden("not allowed to remove this member");
    }
    await this.expel(room, userId, leaving ? "left" : "removed");
    return ok(null);
  }

  async ban(actor: string, userId: string): Promise<Outcome<null>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (actor === userId) return fail("bad_request", "cannot ban yourself");
    const current = this.store.roleOf(userId);
    if (!canManageMember(room, this.standing(room, actor), current, null))
      return forbidden("not allowed to ban");
    this.store.setBanned(userId, true, new Date().toISOString());
    await this.expel(room, userId, "banned");
    return ok(null);
  }

  async unban(actor: string, userId: string): Promise<Outcome<null>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canManageMember(room, this.standing(room, actor), null, null))
      return forbidden("not allowed to unban");
    this.store.setBanned(userId, false, new Date().toISOString());
    return ok(null);
  }

  /** Drops a user from the room: membership rows, then at once every live path of theirs into it. */
  private async expel(room: Room, userId: string, reason: "left" | "removed" | "banned"): Promise<void> {
    if (this.store.roleOf(userId)) {
      await deleteMembershipRow(this.env.DB, room.number, userId);
      const event = this.ctx.storage.transactionSync(() => {
        this.store.deleteMember(userId);
        return this.store.appendEvent((seq) => ({
          type: "member_left",
          room: room.key,
          seq,
          user_id: userId,
          reason,
        }));
      });
      this.publish(event);
    }
    this.flushFanOut();
    if (!canParticipate(this.standing(room, userId))) this.cutOff(userId, reason === "banned" ? 4005 : 4004);
  }

  /** A user who may no longer see the room: close their room sockets and stop their user-scoped delivery. */
  private cutOff(userId: string, code: number): void {
    for (const [ws, session] of this.sockets.sessions()) {
      if (session.user?.id === userId) this.sockets.close(ws, session, code, "removed from room");
    }
    this.store.detach(userId);
  }

  private evictNonMembers(): void {
    const room = this.store.room();
    if (!room) return;
    const users = new Set<string>();
    for (const [, session] of this.sockets.sessions()) if (session.user) users.add(session.user.id);
    for (const { profile } of this.store.attachedUsers()) users.add(profile.id);
    for (const id of users) if (!canParticipate(this.standing(room, id))) this.cutOff(id, 4004);
  }

  // ---- messaging ----

  async post(sender: Profile, draft: MessageDraft): Promise<Outcome<Ack>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canParticipate(this.standing(room, sender.id))) return forbidden();
    const parsed = draftSchema.safeParse(draft);
    if (!parsed.success) return fail("bad_request", firstIssue(parsed.error));
    const refusal = checkDraftLimits(parsed.data, this.limits.maxMessageChars);
    if (refusal)
      return fail(refusal.startsWith("text is longer") ? "payload_too_large" : "bad_request", refusal);
    const earlier = this.store.findByTempId(sender.id, draft.temp_id);
    if (earlier) return ok({ temp_id: draft.temp_id, ...earlier, duplicate: true });
    const to = parsed.data.to ?? null;
    if (to !== null && (to === sender.id || !canParticipate(this.standing(room, to)))) {
      return fail("bad_request", "the recipient is not in this room");
    }
    const now = Date.now();
    const decision = takeToken(
      this.buckets.get(sender.id),
      now,
      this.limits.ratePerSecond,
      this.limits.rateBurst,
    );
    this.buckets.set(sender.id, decision.bucket);
    if (!decision.allowed) return fail("rate_limited", "sending too fast", decision.retryAfter);
    const message = this.ctx.storage.transactionSync(() =>
      this.store.appendMessage(
        (seq) => ({
          id: newMessageId(),
          room: room.key,
          seq,
          sender,
          type: parsed.data.type ?? "text",
          text: parsed.data.text,
          custom_type: parsed.data.custom_type ?? null,
          data: parsed.data.data ?? null,
          to,
          parent_id: parsed.data.parent_id ?? null,
          temp_id: parsed.data.temp_id,
          created_at: new Date(now).toISOString(),
          edited_at: null,
          deleted_at: null,
        }),
        now,
      ),
    );
    if (this.store.setTyping(sender, null)) this.publish(this.typingEvent(room, sender, false));
    this.publish({ type: "message", room: room.key, seq: message.seq, message });
    return ok({
      temp_id: message.temp_id ?? draft.temp_id,
      id: message.id,
      seq: message.seq,
      created_at: message.created_at,
      duplicate: false,
    });
  }

  /** Messages visible to `userId`, oldest first; recent ranges from the room's own log, older ones from D1. */
  async history(userId: string, query: HistoryQuery): Promise<Outcome<Message[]>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canParticipate(this.standing(room, userId))) return forbidden();
    const limit = Math.max(1, Math.min(query.limit, 100));
    const floor = this.store.floor();
    if (query.after !== undefined) {
      const after = query.after;
      const before = query.before ?? Number.MAX_SAFE_INTEGER;
      const old =
        after + 1 < floor
          ? await readMessageRows(this.env.DB, room, userId, after, Math.min(floor, before), limit, false)
          : [];
      const hot = this.store.messages(userId, Math.max(after, floor - 1), before, limit - old.length, false);
      return ok([...old, ...hot]);
    }
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const hot = this.store.messages(userId, floor - 1, before, limit, true);
    const old =
      hot.length < limit && floor > 1
        ? await readMessageRows(
            this.env.DB,
            room,
            userId,
            0,
            Math.min(floor, before),
            limit - hot.length,
            true,
          )
        : [];
    return ok([...hot, ...old].reverse());
  }

  async markRead(userId: string, seq: number): Promise<Outcome<{ seq: number }>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canParticipate(this.standing(room, userId))) return forbidden();
    const target = Math.min(Math.max(0, Math.floor(seq)), this.store.head());
    const prior = this.store.readMarker(userId);
    if (target <= prior) return ok({ seq: prior });
    const seqs = this.store.othersMessageSeqs(userId, prior, target, 100);
    this.store.setReadMarker(userId, target);
    this.publish({
      type: "read",
      room: room.key,
      user_id: userId,
      seq: target,
      message_seqs: seqs,
      at: new Date().toISOString(),
    });
    await this.wakeAt(Date.now() + FLUSH_DELAY_MS);
    return ok({ seq: target });
  }

  async setTyping(user: Profile, typing: boolean): Promise<Outcome<null>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canParticipate(this.standing(room, user.id))) return forbidden();
    const expiresAt = Date.now() + TYPING_TTL_MS;
    const wasTyping = this.store.setTyping(user, null);
    if (typing) {
      this.store.setTyping(user, expiresAt);
      if (!wasTyping) this.publish(this.typingEvent(room, user, true));
      await this.wakeAt(expiresAt);
    } else if (wasTyping) {
      this.publish(this.typingEvent(room, user, false));
    }
    return ok(null);
  }

  private typingEvent(room: Room, user: Profile, typing: boolean): RoomEvent {
    return { type: "typing", room: room.key, user, typing, at: new Date().toISOString() };
  }

  // ---- user-scoped fan-out (called by UserDOs) ----

  /**
   * Registers a user's UserDO for this room's events. With `since`, also returns every durable event after it
   * that the user may see; registration and the backlog's end (`head`) are taken in one step, so live events
   * are exactly those after `head`. `live` marks a session subscribed to the room (it counts as present).
   */
  async attachUser(
    user: Profile,
    since: number | null,
    live = since !== null,
  ): Promise<Outcome<{ head: number; backlog: DurableEvent[] }>> {
    const room = this.store.room();
    if (!room) return notFound();
    if (!canParticipate(this.standing(room, user.id))) return forbidden();
    const head = this.store.head();
    const wasPresent = this.presentUsers().has(user.id);
    const alreadyLive = this.store.attachedUsers().some((a) => a.profile.id === user.id && a.live);
    this.store.attach(user, live || alreadyLive);
    if (live && !wasPresent) this.announceOccupancy(room, user, "join");
    if (since === null) return ok({ head, backlog: [] });
    const backlog = await this.backlog(room, user.id, since, head);
    return backlog.ok ? ok({ head, backlog: backlog.value }) : backlog;
  }

  /** Ends a user's registration (offline), or only its presence (`liveOnly`: no session subscribed any more). */
  async detachUser(userId: string, liveOnly = false): Promise<void> {
    const room = this.store.room();
    const entry = this.store.attachedUsers().find((a) => a.profile.id === userId);
    if (!room || !entry) return;
    if (liveOnly) this.store.attach(entry.profile, false);
    else this.store.detach(userId);
    if (entry.live && !this.presentUsers().has(userId)) this.announceOccupancy(room, entry.profile, "leave");
  }

  /** Durable events in (since, head] visible to the user: the hot log, then D1 for what was pruned from it. */
  private async backlog(
    room: Room,
    userId: string,
    since: number,
    head: number,
  ): Promise<Outcome<DurableEvent[]>> {
    if (since >= head) return ok([]);
    if (head - since > RESUME_LIMIT) {
      return fail(
        "conflict",
        `more than ${RESUME_LIMIT} events were missed: reload the history instead of resuming`,
      );
    }
    const floor = this.store.floor();
    const hot = this.store
      .eventsAfter(Math.max(since, floor - 1), HOT_EVENTS + 1)
      .filter((e) => e.seq <= head && eventVisibleTo(e, userId));
    const old: DurableEvent[] = [];
    for (let after = since; after + 1 < floor; ) {
      const page = await readMessageRows(this.env.DB, room, userId, after, floor, D1_PAGE, false);
      old.push(
        ...page.map((message) => ({ type: "message" as const, room: room.key, seq: message.seq, message })),
      );
      if (page.length < D1_PAGE) break;
      after = page[page.length - 1]?.seq ?? floor;
    }
    return ok([...old, ...hot]);
  }

  // ---- room-scoped sockets ----

  override async fetch(request: Request): Promise<Response> {
    const room = this.store.room();
    if (!room)
      return Response.json({ error: { code: "not_found", message: "room not found" } }, { status: 404 });
    const init = readSocketUpgrade(request);
    if (init instanceof Response) return init;
    if (init.user && !canParticipate(this.standing(room, init.user.id))) {
      return Response.json(
        { error: { code: "forbidden", message: "not a member of this room" } },
        { status: 403 },
      );
    }
    const response = this.sockets.accept(
      { dialect: init.dialect, user: init.user, room: room.key },
      init.protocol,
    );
    await this.wakeAt(Date.now() + 15_000);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sockets.onMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
    this.leaveSocket(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.leaveSocket(ws);
  }

  private leaveSocket(ws: WebSocket): void {
    const session = this.sockets.session(ws);
    const room = this.store.room();
    if (!session?.user || !room || !(room.key in session.subs)) return;
    session.subs = {};
    this.sockets.save(ws, session);
    if (!this.presentUsers().has(session.user.id)) this.announceOccupancy(room, session.user, "leave");
  }

  private async execute(ws: WebSocket, session: Session, command: Command): Promise<Executed> {
    const room = this.store.room();
    if (!room) return { outcome: notFound() };
    if (command.kind === "auth") return { outcome: await this.authenticate(ws, session, room, command) };
    const user = session.user;
    if (!user) return { outcome: fail("unauthorized", "authenticate first") };
    const elsewhere = "room" in command && command.room !== room.key;
    if (elsewhere) return { outcome: forbidden("this socket belongs to another room") };
    switch (command.kind) {
      case "subscribe": {
        if (!canParticipate(this.standing(room, user.id))) return { outcome: forbidden() };
        const head = this.store.head();
        const backlog =
          command.since === null ? ok([]) : await this.backlog(room, user.id, command.since, head);
        if (!backlog.ok) return { outcome: backlog };
        const wasPresent = this.presentUsers().has(user.id);
        session.subs = { [room.key]: head };
        this.sockets.save(ws, session);
        if (!wasPresent) this.announceOccupancy(room, user, "join");
        return { outcome: ok({ kind: "subscribed", room: room.key, head }), before: backlog.value };
      }
      case "unsubscribe": {
        const was = room.key in session.subs;
        session.subs = {};
        this.sockets.save(ws, session);
        if (was && !this.presentUsers().has(user.id)) this.announceOccupancy(room, user, "leave");
        return { outcome: ok({ kind: "unsubscribed", room: room.key }) };
      }
      case "send": {
        const ack = await this.post(user, command.draft);
        return { outcome: ack.ok ? ok({ kind: "sent", room: room.key, ack: ack.value }) : ack };
      }
      case "typing": {
        const done = await this.setTyping(user, command.typing);
        return { outcome: done.ok ? ok({ kind: "typing" }) : done };
      }
      case "read": {
        const read = await this.markRead(user.id, command.seq);
        return { outcome: read.ok ? ok({ kind: "read", room: room.key, seq: read.value.seq }) : read };
      }
      case "send_direct":
      case "watch":
      case "unwatch":
        return { outcome: fail("bad_request", `${command.kind} is available on the user socket`) };
    }
  }

  private async authenticate(
    ws: WebSocket,
    session: Session,
    room: Room,
    command: Extract<Command, { kind: "auth" }>,
  ): Promise<Outcome<{ kind: "auth"; user: Profile }>> {
    if (session.user) return fail("bad_request", "already authenticated");
    const identity = await verifyChatToken(this.env, command.token);
    if (!identity.ok) return identity;
    const token = identity.value.user;
    const user = token.name === null && command.name ? { ...token, name: command.name } : token;
    if (command.expectUserId !== undefined && command.expectUserId !== user.id) {
      return fail("invalid_token", "userid does not match the token");
    }
    const appIds = listVar(this.env.STOMP_APP_IDS);
    if (command.appId !== undefined && appIds.length > 0 && !appIds.includes(command.appId)) {
      return fail("invalid_token", "unknown appid");
    }
    if (!canParticipate(this.standing(room, user.id))) return forbidden();
    session.user = user;
    this.sockets.save(ws, session);
    return ok({ kind: "auth", user });
  }

  // ---- fan-out ----

  private standing(room: Room, userId: string): Standing {
    return standingOf(room, this.store.roleOf(userId), this.store.isBanned(userId));
  }

  /** Users present in the room now: a subscribed room socket, or a subscribed session on their user socket. */
  private presentUsers(): Set<string> {
    const room = this.store.room();
    const present = new Set<string>();
    if (!room) return present;
    for (const [, session] of this.sockets.sessions()) {
      if (session.user && room.key in session.subs) present.add(session.user.id);
    }
    for (const { profile, live } of this.store.attachedUsers()) if (live) present.add(profile.id);
    return present;
  }

  private announceOccupancy(room: Room, user: Profile, what: "join" | "leave"): void {
    const total = what === "join" ? this.store.visit(user.id) : this.store.visitorCount();
    this.publish({
      type: "occupancy",
      room: room.key,
      what,
      user,
      participant_count: this.presentUsers().size,
      total_user_count: total,
      at: new Date().toISOString(),
    });
  }

  private publish(event: RoomEvent): void {
    if (isDurable(event)) this.ctx.waitUntil(this.wakeAt(Date.now() + FLUSH_DELAY_MS));
    this.pending.push(event);
    if (this.fanOutScheduled) return;
    this.fanOutScheduled = true;
    setTimeout(() => this.flushFanOut(), 0);
  }

  /**
   * Sends every pending event: one frame per socket per flush, one delivery per attached user. Adaptive
   * batching: the next flush waits as long again as this one kept the object busy (the clock stands still while
   * a turn runs, so the turn after it reads the flush's cost), and what is published meanwhile goes out together.
   * An idle room flushes at once; under load, frames carry more events instead of queueing behind each other.
   * What the next turn reads also counts whatever else ran before it, so the wait is capped: at 500 sockets ×
   * 50 msg/s a 20 ms cap measured p99 0.77× that of a 50 ms one (docs/benchmarks.md).
   */
  private flushFanOut(): void {
    const longestWaitMs = 20;
    const events = this.pending;
    if (events.length === 0) {
      this.fanOutScheduled = false;
      return;
    }
    this.pending = [];
    this.fanOutScheduled = true;
    const startedAt = Date.now();
    this.sockets.fanOut(events, (session, room) => room in session.subs);
    for (const { profile } of this.store.attachedUsers()) {
      const visible = events.filter((e) => eventVisibleTo(e, profile.id));
      if (visible.length > 0) this.deliver(profile.id, visible);
    }
    setTimeout(
      () => setTimeout(() => this.flushFanOut(), Math.min(Date.now() - startedAt, longestWaitMs)),
      0,
    );
  }

  private deliver(userId: string, events: RoomEvent[]): void {
    let line = this.deliveries.get(userId);
    if (!line) {
      line = { queue: [], running: false };
      this.deliveries.set(userId, line);
    }
    line.queue.push(...events);
    if (!line.running) void this.drain(userId, line);
  }

  private async drain(userId: string, line: { queue: RoomEvent[]; running: boolean }): Promise<void> {
    const room = this.store.room();
    line.running = true;
    const stub = this.env.USERS.get(this.env.USERS.idFromName(userId));
    while (line.queue.length > 0 && room) {
      const batch = line.queue.splice(0);
      try {
        await stub.receive(room.key, batch);
      } catch (error) {
        console.error("delivery to user failed; detaching", userId, error);
        line.queue = [];
        await this.detachUser(userId);
      }
    }
    line.running = false;
    this.deliveries.delete(userId);
  }

  /** New members who are online start following the room at once. */
  private async notifyJoined(room: Room, userIds: string[]): Promise<void> {
    const calls = userIds.map((id) => this.env.USERS.get(this.env.USERS.idFromName(id)).joinedRoom(room.key));
    for (const r of await Promise.allSettled(calls)) {
      if (r.status === "rejected") console.error("join notice failed", room.key, r.reason);
    }
  }

  // ---- background work ----

  private async wakeAt(at: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= at) {
      this.alarmAt = current;
      return;
    }
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const room = this.store.room();
    if (!room) return;
    const now = Date.now();
    const due: (number | null)[] = [];
    for (const user of this.store.expireTyping(now)) this.publish(this.typingEvent(room, user, false));
    due.push(this.store.nextTypingExpiry());
    due.push(await this.flushToD1(room, now));
    due.push(await this.notifyOffline(room, now));
    due.push(await this.enqueueWebhooks(room, now));
    due.push(this.sockets.sweep(now));
    this.store.prune(now);
    const next = due
      .filter((t): t is number => t !== null)
      .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) await this.wakeAt(Math.max(next, now + 10));
  }

  /** Writes the outbox and read markers to D1; returns when to try again (backing off on failure). */
  private async flushToD1(room: Room, now: number): Promise<number | null> {
    while (this.store.hasPendingFlush()) {
      const batch = this.store.pendingFlush(100);
      try {
        await flushRoomRows(
          this.env.DB,
          room.number,
          batch.messages,
          batch.reads,
          new Date(now).toISOString(),
        );
      } catch (error) {
        this.flushFailures += 1;
        console.error("D1 flush failed; will retry", room.key, error);
        return now + Math.min(30_000, 500 * 2 ** this.flushFailures);
      }
      this.flushFailures = 0;
      this.store.flushed(batch.messages.at(-1)?.seq ?? null, batch.reads);
    }
    return null;
  }

  /**
   * Hands durable events to the webhook queue. A cursor in the room's storage moves only after the queue took
   * them, so a failure retries; job ids are stable, so a retry never delivers twice.
   */
  private async enqueueWebhooks(room: Room, now: number): Promise<number | null> {
    const urls = listVar(this.env.WEBHOOK_URLS);
    const cursor = this.store.counter(WEBHOOK_CURSOR);
    const head = this.store.head();
    if (urls.length === 0 || cursor >= head) return null;
    const events = this.store.eventsAfter(cursor, 100);
    const jobs = events.flatMap((e) => {
      const occurrence = webhookOccurrence(e);
      return occurrence ? webhookJobs(urls, occurrence) : [];
    });
    try {
      if (jobs.length > 0) await this.env.PUSH_QUEUE.sendBatch(jobs.map((body) => ({ body })));
    } catch (error) {
      console.error("webhook enqueue failed; will retry", room.key, error);
      return now + 5_000;
    }
    const last = events.at(-1)?.seq ?? head;
    this.store.setCounter(WEBHOOK_CURSOR, last);
    return last < head ? now + 10 : null;
  }

  /** Tells members with no live path into the room about new messages, so their UserDO can push. */
  private async notifyOffline(room: Room, now: number): Promise<number | null> {
    const cursor = this.store.counter(OFFLINE_CURSOR);
    const head = this.store.head();
    if (cursor >= head) return null;
    const attached = new Set(this.store.attachedUsers().map((a) => a.profile.id));
    const events = this.store.eventsAfter(cursor, 200);
    const last = events.at(-1)?.seq ?? head;
    const calls = this.store
      .memberIds()
      .filter((id) => !attached.has(id))
      .map((id) => ({
        id,
        messages: events.flatMap((e) =>
          e.type === "message" && e.message.sender.id !== id && eventVisibleTo(e, id) ? [e.message] : [],
        ),
      }))
      .filter((c) => c.messages.length > 0)
      .map((c) =>
        this.env.USERS.get(this.env.USERS.idFromName(c.id)).offlineMessages(c.id, room, c.messages),
      );
    const results = await Promise.allSettled(calls);
    for (const r of results)
      if (r.status === "rejected") console.error("offline notify failed", room.key, r.reason);
    this.store.setCounter(OFFLINE_CURSOR, last);
    return last < head ? now + OFFLINE_NOTIFY_DELAY_MS : null;
  }
}

/** The webhook a durable event raises, if any. */
function webhookOccurrence(event: DurableEvent): WebhookOccurrence | null {
  const id = `${event.room}:${event.seq}`;
  switch (event.type) {
    case "message":
      return {
        id,
        occurred_at: event.message.created_at,
        event: "message.created",
        payload: { room: event.room, message: event.message },
      };
    case "member_joined":
      return {
        id,
        occurred_at: event.member.joined_at,
        event: "member.joined",
        payload: { room: event.room, member: event.member, profile: event.profile },
      };
    case "member_left":
      return {
        id,
        occurred_at: new Date().toISOString(),
        event: "member.left",
        payload: { room: event.room, user_id: event.user_id, reason: event.reason },
      };
    default:
      return null;
  }
}
