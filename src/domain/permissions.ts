import type { Message, Role, Room } from "./model";

/**
 * How a user stands in a room: a member with a role, a viewer of a public live room, or nobody.
 * Banned users are nobody, whatever the room.
 */
export type Standing = { kind: "member"; role: Role } | { kind: "viewer" } | { kind: "none" };

export function standingOf(room: Room, role: Role | null, banned: boolean): Standing {
  if (banned) return { kind: "none" };
  if (role) return { kind: "member", role };
  if (room.kind === "live" && !room.private) return { kind: "viewer" };
  return { kind: "none" };
}

/** Reading, subscribing, sending, typing and occupancy are open to members and to viewers of public live rooms. */
export const canParticipate = (s: Standing): boolean => s.kind !== "none";

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

export const isManager = (s: Standing): boolean => s.kind === "member" && RANK[s.role] >= RANK.admin;

export const isOwner = (s: Standing): boolean => s.kind === "member" && s.role === "owner";

/** Name, description and metadata: owners and admins. */
export const canUpdateRoom = isManager;

/** Deleting a room: owners only. */
export const canDeleteRoom = isOwner;

/**
 * Adding, removing or re-roling another member. Admins manage plain members; only owners grant or take away
 * admin or owner. Direct rooms have a fixed pair of members.
 */
export function canManageMember(
  room: Room,
  actor: Standing,
  targetRole: Role | null,
  newRole: Role | null,
): boolean {
  if (room.kind === "direct") return false;
  if (!isManager(actor)) return false;
  if (isOwner(actor)) return true;
  const touchesPrivileged = (r: Role | null) => r !== null && r !== "member";
  return !touchesPrivileged(targetRole) && !touchesPrivileged(newRole);
}

/**
 * Who may see a peer's online state. `direct_room` is seed 001's rule as written: any shared direct room. The
 * default, `consent`, also needs the peer to have accepted that room (sent a message in it, or opened it
 * themselves), since anyone can open a direct room with anyone.
 */
export type PresencePolicy = "consent" | "direct_room";

export function canWatchPresence(
  policy: PresencePolicy,
  peer: { sharesDirectRoom: boolean; consented: boolean; self: boolean },
): boolean {
  if (peer.self || !peer.sharesDirectRoom) return false;
  return policy === "direct_room" || peer.consented;
}

export const presencePolicyOf = (raw: string | undefined): PresencePolicy =>
  raw === "direct_room" ? "direct_room" : "consent";

// ---- message lifecycle ----

/** Editing is the author's alone: nobody, moderators included, puts words in another's mouth. */
export const canEditMessage = (actorId: string, message: Pick<Message, "sender">): boolean =>
  message.sender.id === actorId;

/** Deleting: the author, or an owner or admin of the room (direct rooms have neither: only the author). */
export const canDeleteMessage = (
  actor: Standing,
  actorId: string,
  message: Pick<Message, "sender">,
): boolean => message.sender.id === actorId || isManager(actor);

/** Pinning a message to the room: owners and admins, or either member of a direct room. */
export const canPinMessage = (room: Room, actor: Standing): boolean =>
  room.kind === "direct" ? actor.kind === "member" : isManager(actor);

/** A member's own pin of the room in their room list: members only (viewers have no room list entry). */
export const canPinRoom = (actor: Standing): boolean => actor.kind === "member";

/** `@room` / `@all`: owners and admins of group and live rooms. */
export const canMentionRoom = (room: Room, actor: Standing): boolean =>
  room.kind !== "direct" && isManager(actor);

/** The previous versions of edited messages: owners and admins. */
export const canReadEditHistory = isManager;
