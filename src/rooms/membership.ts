import { CloseCode } from "../domain/close-codes";
import { type Outcome, ok, refuse } from "../domain/errors";
import type { DurableEvent, RoomListing } from "../domain/events";
import type { Member, Profile, Role, Room, RoomKind } from "../domain/model";
import { addedNotification } from "../domain/notifications";
import { canDeleteRoom, canManageMember, canUpdateRoom, isManager } from "../domain/permissions";
import {
  deleteMembershipRow,
  deleteRoomRow,
  insertRoomRow,
  updateRoomRow,
  upsertMembershipRows,
} from "../storage/room-rows";
import type { RoomCore } from "./core";
import { userStub } from "./stubs";

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

const newEpoch = (): string => crypto.randomUUID().replaceAll("-", "").slice(0, 16);

/**
 * A room's lifecycle and membership, as the HTTP API drives it: create, update, delete, add, re-role, remove,
 * ban. D1 is written first (it is the cross-room index), then the room's own state and its durable event.
 */
export class Membership {
  constructor(private readonly core: RoomCore) {}

  async create(init: RoomInit): Promise<Outcome<{ room: Room; created: boolean }>> {
    const { core } = this;
    const existing = core.guard.room();
    if (existing) {
      return init.kind === "direct" && existing.kind === "direct"
        ? ok({ room: existing, created: false })
        : refuse.conflict("a room with this key exists");
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
      epoch: newEpoch(),
    };
    const initial = new Map<string, { profile: Profile; role: Role }>();
    for (const m of init.members) initial.set(m.profile.id, m);
    initial.set(init.creator.id, {
      profile: init.creator,
      role: init.kind === "direct" ? "member" : "owner",
    });
    if (initial.size > core.limits.maxRoomMembers)
      return refuse.conflict(`a room has at most ${core.limits.maxRoomMembers} members`);
    const members = [...initial.values()].map((m) => ({
      user_id: m.profile.id,
      role: m.role,
      joined_at: now,
    }));
    const number = await insertRoomRow(core.env.DB, base, members);
    if (number === null) return refuse.conflict("a room with this key (or the number it spells) exists");
    const room: Room = { ...base, number };
    core.transaction(() => {
      core.guard.saveRoom(room);
      for (const m of initial.values()) core.guard.putMember(m.profile, m.role, now);
    });
    await this.notifyJoined(room, init.creator, [...initial.keys()]);
    return ok({ room, created: true });
  }

  view(userId: string): Outcome<RoomView> {
    const entry = this.core.guard.participant(userId);
    if (!entry.ok) return entry;
    const { room, standing } = entry.value;
    return ok({
      room,
      members: this.core.store.memberProfiles(),
      role: standing.kind === "member" ? standing.role : null,
      head: this.core.store.head(),
    });
  }

  access(userId: string): Outcome<{ room: Room; role: Role | null }> {
    const entry = this.core.guard.participant(userId);
    if (!entry.ok) return entry;
    const { room, standing } = entry.value;
    return ok({ room, role: standing.kind === "member" ? standing.role : null });
  }

  async update(actor: string, patch: RoomPatch): Promise<Outcome<Room>> {
    const { core } = this;
    const entry = core.guard.participant(actor);
    if (!entry.ok) return entry;
    const { room, standing } = entry.value;
    if (room.kind === "direct" || !canUpdateRoom(standing))
      return refuse.forbidden("only owners and admins change a room");
    const updated: Room = {
      ...room,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.metadata !== undefined ? { metadata: patch.metadata } : {}),
      ...(patch.private !== undefined ? { private: patch.private } : {}),
    };
    const at = new Date().toISOString();
    await updateRoomRow(core.env.DB, updated, at);
    const event = core.transaction(() => {
      core.guard.saveRoom(updated);
      return core.store.appendEvent((seq) => ({
        type: "room_updated",
        room: room.key,
        seq,
        at,
        info: updated,
      }));
    });
    core.publish(event);
    if (updated.private && !room.private) this.evictNonMembers();
    return ok(updated);
  }

  async destroy(actor: string): Promise<Outcome<null>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    if (!canDeleteRoom(core.guard.standing(room, actor)))
      return refuse.forbidden("only owners delete a room");
    await deleteRoomRow(core.env.DB, room.number);
    const event: DurableEvent = {
      type: "room_deleted",
      room: room.key,
      seq: core.store.head() + 1,
      at: new Date().toISOString(),
    };
    const members = core.guard.memberIds();
    core.publish(event);
    core.fanout.flush();
    for (const connection of core.sockets.connections())
      connection.close({ code: CloseCode.AdminAction, reason: "room deleted" });
    core.transaction(() => {
      core.store.wipe();
      core.lifecycle.wipe();
    });
    core.guard.forget();
    await this.tellGone(room, members, event);
    return ok(null);
  }

  async addMembers(actor: string, members: { profile: Profile; role: Role }[]): Promise<Outcome<Member[]>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    const standing = core.guard.standing(room, actor);
    const refusal =
      room.kind === "direct" ? "direct rooms have fixed members" : "not allowed to add this member";
    // Checked even for an empty list, so adding only yourself is refused rather than answered with nothing.
    if (!isManager(standing)) return refuse.forbidden(refusal);
    for (const m of members) {
      if (!canManageMember(room, standing, core.guard.roleOf(m.profile.id), m.role))
        return refuse.forbidden(refusal);
    }
    const now = new Date().toISOString();
    const fresh = members.filter((m) => core.guard.roleOf(m.profile.id) === null);
    if (core.guard.memberIds().length + fresh.length > core.limits.maxRoomMembers)
      return refuse.conflict(`a room has at most ${core.limits.maxRoomMembers} members`);
    await upsertMembershipRows(
      core.env.DB,
      room.key,
      members.map((m) => ({ user_id: m.profile.id, role: m.role, joined_at: now })),
    );
    const { added, events } = core.transaction(() => {
      const added = members.map((m) => core.guard.putMember(m.profile, m.role, now));
      const events = fresh.map((m) => {
        const member = added.find((a) => a.user_id === m.profile.id) as Member;
        core.guard.setBanned(m.profile.id, false, now);
        return core.store.appendEvent((seq) => ({
          type: "member_joined" as const,
          room: room.key,
          seq,
          at: now,
          member,
          profile: m.profile,
        }));
      });
      return { added, events };
    });
    for (const e of events) core.publish(e);
    await this.notifyJoined(
      room,
      this.profileOf(actor),
      events.map((e) => e.member.user_id),
    );
    return ok(added);
  }

  async setRole(actor: string, userId: string, role: Role): Promise<Outcome<Member>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    const current = core.guard.roleOf(userId);
    if (!current) return refuse.notFound("not a member");
    if (!canManageMember(room, core.guard.standing(room, actor), current, role))
      return refuse.forbidden("not allowed to change this role");
    if (current === "owner" && role !== "owner" && core.guard.ownerCount() === 1) {
      return refuse.conflict("a room keeps at least one owner");
    }
    const joinedAt =
      core.store.members().find((m) => m.user_id === userId)?.joined_at ?? new Date().toISOString();
    await upsertMembershipRows(core.env.DB, room.key, [{ user_id: userId, role, joined_at: joinedAt }]);
    return ok(core.guard.putMember({ id: userId, name: null, avatar: null }, role, joinedAt));
  }

  /** Removes `userId`; when `actor === userId` this is leaving. */
  async removeMember(actor: string, userId: string): Promise<Outcome<null>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    const current = core.guard.roleOf(userId);
    if (!current) return refuse.notFound("not a member");
    const leaving = actor === userId;
    if (leaving) {
      if (room.kind === "direct") return refuse.forbidden("direct rooms have fixed members");
      if (current === "owner" && core.guard.ownerCount() === 1 && core.guard.memberIds().length > 1) {
        return refuse.conflict("the last owner hands ownership on before leaving");
      }
    } else if (!canManageMember(room, core.guard.standing(room, actor), current, null)) {
      return refuse.forbidden("not allowed to remove this member");
    }
    await this.expel(room, userId, leaving ? "left" : "removed");
    return ok(null);
  }

  async ban(actor: string, userId: string): Promise<Outcome<null>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    if (actor === userId) return refuse.badRequest("cannot ban yourself");
    if (!canManageMember(room, core.guard.standing(room, actor), core.guard.roleOf(userId), null))
      return refuse.forbidden("not allowed to ban");
    core.guard.setBanned(userId, true, new Date().toISOString());
    await this.expel(room, userId, "banned");
    return ok(null);
  }

  async unban(actor: string, userId: string): Promise<Outcome<null>> {
    const { core } = this;
    const room = core.guard.room();
    if (!room) return refuse.roomNotFound();
    if (!canManageMember(room, core.guard.standing(room, actor), null, null))
      return refuse.forbidden("not allowed to unban");
    core.guard.setBanned(userId, false, new Date().toISOString());
    return ok(null);
  }

  /** Drops a user from the room: membership rows, then at once every live path of theirs into it. */
  private async expel(room: Room, userId: string, reason: "left" | "removed" | "banned"): Promise<void> {
    const { core } = this;
    if (core.guard.roleOf(userId)) {
      await deleteMembershipRow(core.env.DB, room.number, userId);
      const at = new Date().toISOString();
      const event = core.transaction(() => {
        core.guard.deleteMember(userId);
        core.lifecycle.forgetMember(userId);
        return core.store.appendEvent((seq) => ({
          type: "member_left" as const,
          room: room.key,
          seq,
          at,
          user_id: userId,
          reason,
        }));
      });
      core.publish(event);
      await this.tellGone(room, [userId], event);
    }
    core.fanout.flush();
    if (!core.guard.mayParticipate(userId))
      core.cutOff(
        userId,
        reason === "banned" ? CloseCode.Banned : CloseCode.AdminAction,
        "removed from room",
      );
  }

  private evictNonMembers(): void {
    const { core } = this;
    const users = new Set<string>();
    for (const connection of core.sockets.connections())
      if (connection.session.user) users.add(connection.session.user.id);
    for (const { profile } of core.store.attachedUsers()) users.add(profile.id);
    for (const id of users)
      if (!core.guard.mayParticipate(id)) core.cutOff(id, CloseCode.AdminAction, "the room became private");
  }

  /**
   * New members start following the room at once when online, and get its listing (`room_added`, kept for them
   * while offline) and, when someone else added them, a notification.
   */
  private async notifyJoined(room: Room, actor: Profile, userIds: string[]): Promise<void> {
    const { core } = this;
    const at = new Date().toISOString();
    const calls = userIds.map((id) => {
      const listing: RoomListing = {
        room,
        role: core.guard.roleOf(id),
        unread: 0,
        mentions: 0,
        last_message:
          core.store.messages(id, core.store.floor() - 1, Number.MAX_SAFE_INTEGER, 1, true)[0] ?? null,
        pinned_at: core.lifecycle.roomPinOf(id),
      };
      return userStub(core.env, id).joinedRoom(id, listing, addedNotification(room, actor, id, at));
    });
    for (const r of await Promise.allSettled(calls)) {
      if (r.status === "rejected") console.error("join notice failed", room.key, r.reason);
    }
  }

  /** Members who lost the room hear of it on their user socket, now or when they next connect. */
  private async tellGone(
    room: Room,
    userIds: string[],
    event: Extract<DurableEvent, { type: "room_deleted" | "member_left" }>,
  ): Promise<void> {
    const calls = userIds.map((id) => userStub(this.core.env, id).roomGone(id, room.key, event));
    for (const r of await Promise.allSettled(calls)) {
      if (r.status === "rejected") console.error("room gone notice failed", room.key, r.reason);
    }
  }

  /** A member's profile as the room knows it. */
  private profileOf(userId: string): Profile {
    const known = this.core.store.memberProfiles().find((m) => m.user_id === userId);
    return { id: userId, name: known?.name ?? null, avatar: known?.avatar ?? null };
  }
}
