import { type Outcome, ok, refuse } from "../domain/errors";
import type { Member, Profile, Role, Room } from "../domain/model";
import { canParticipate, type Standing, standingOf } from "../domain/permissions";
import type { RoomStore } from "./room-store";

/**
 * The room's snapshot and membership, kept in memory: the object is the single writer of both, so every change
 * goes through here and the copy never goes stale. Reads that guard a command cost no storage access.
 */
export class RoomGuard {
  private snapshot: Room | null | undefined;
  private roles: Map<string, Role> | undefined;
  private banned: Set<string> | undefined;

  constructor(private readonly store: RoomStore) {}

  room(): Room | null {
    if (this.snapshot === undefined) {
      const stored = this.store.room();
      // Rooms stored before epochs existed get a stable one derived from their number.
      this.snapshot = stored && !stored.epoch ? { ...stored, epoch: `n${stored.number}` } : stored;
    }
    return this.snapshot;
  }

  saveRoom(room: Room): void {
    this.store.saveRoom(room);
    this.snapshot = room;
  }

  /** After the room's storage was wiped. */
  forget(): void {
    this.snapshot = null;
    this.roles = new Map();
    this.banned = new Set();
  }

  private roleMap(): Map<string, Role> {
    this.roles ??= new Map(this.store.members().map((m) => [m.user_id, m.role]));
    return this.roles;
  }

  private banSet(): Set<string> {
    this.banned ??= new Set(this.store.bannedIds());
    return this.banned;
  }

  roleOf(userId: string): Role | null {
    return this.roleMap().get(userId) ?? null;
  }

  memberIds(): string[] {
    return [...this.roleMap().keys()];
  }

  ownerCount(): number {
    let owners = 0;
    for (const role of this.roleMap().values()) if (role === "owner") owners += 1;
    return owners;
  }

  putMember(profile: Profile, role: Role, joinedAt: string): Member {
    const member = this.store.putMember(profile, role, joinedAt);
    this.roleMap().set(profile.id, member.role);
    return member;
  }

  deleteMember(userId: string): void {
    this.store.deleteMember(userId);
    this.roleMap().delete(userId);
  }

  setBanned(userId: string, banned: boolean, at: string): void {
    this.store.setBanned(userId, banned, at);
    if (banned) this.banSet().add(userId);
    else this.banSet().delete(userId);
  }

  standing(room: Room, userId: string): Standing {
    return standingOf(room, this.roleOf(userId), this.banSet().has(userId));
  }

  /** The room, when it exists and `userId` may take part in it. */
  participant(userId: string): Outcome<{ room: Room; standing: Standing }> {
    const room = this.room();
    if (!room) return refuse.roomNotFound();
    const standing = this.standing(room, userId);
    return canParticipate(standing) ? ok({ room, standing }) : refuse.forbidden();
  }

  mayParticipate(userId: string): boolean {
    const room = this.room();
    return room !== null && canParticipate(this.standing(room, userId));
  }
}
