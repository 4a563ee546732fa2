import { z } from "zod";
import { fail, type Outcome, ok } from "../../domain/errors";
import type { Role } from "../../domain/model";

/** The request bodies and path parameters of the Swappart room API (seed 002), and how an update applies. */

/** Room ids are the rooms' numbers: positive integers that survive a round trip through a JSON number. */
export const roomNumberSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Supabase user ids are UUIDs. */
export const supabaseUserIdSchema = z.uuid();

/** Users named in one request, bounding the room's work per call. */
export const MAX_USERS_PER_REQUEST = 100;

const users = z.array(supabaseUserIdSchema).max(MAX_USERS_PER_REQUEST);

export const createRoomSchema = z.object({
  users,
  /** Kept in the room's `metadata.apartment_id`; a missing one is a room about no apartment. */
  apartment_id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
});

export const updateParticipantsSchema = z.object({
  room_id: roomNumberSchema,
  users_to_add: users.default([]),
  users_to_remove: users.default([]),
});

export type UpdateParticipants = z.infer<typeof updateParticipantsSchema>;

/** A room id in a path: digits naming a room number. */
export const roomIdParamSchema = z
  .string()
  .regex(/^\d{1,16}$/, "a room id is a number")
  .transform(Number)
  .pipe(roomNumberSchema);

export interface ParticipantChanges {
  add: string[];
  /** Others first, the actor last: leaving last keeps the right to remove the others. */
  remove: string[];
}

/**
 * What an update does to the room's current members. Adding someone already in the room would re-role them, and
 * removing someone not in it has nothing to do, so both are skipped. Only the owner adds or removes others;
 * anyone may remove themselves. The room checks the same rules again when it runs the changes.
 */
export function participantChanges(
  members: readonly { user_id: string; role: Role }[],
  actor: string,
  update: Pick<UpdateParticipants, "users_to_add" | "users_to_remove">,
): Outcome<ParticipantChanges> {
  const toAdd = new Set(update.users_to_add);
  const toRemove = new Set(update.users_to_remove);
  if ([...toAdd].some((id) => toRemove.has(id))) {
    return fail("bad_request", "a user cannot be both added and removed");
  }
  const roles = new Map(members.map((m) => [m.user_id, m.role]));
  const add = [...toAdd].filter((id) => !roles.has(id));
  const remove = [...toRemove].filter((id) => roles.has(id));
  const touchesOthers = add.length > 0 || remove.some((id) => id !== actor);
  if (touchesOthers && roles.get(actor) !== "owner") {
    return fail("forbidden", "only the room's owner adds or removes participants");
  }
  return ok({
    add,
    remove: [...remove.filter((id) => id !== actor), ...remove.filter((id) => id === actor)],
  });
}
