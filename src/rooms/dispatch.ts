import type { Command, CommandOutcome, RoomRef } from "../domain/commands";
import { refuse } from "../domain/errors";
import { directRoomKey } from "../domain/ids";
import type { Profile } from "../domain/model";
import type { Env } from "../env";
import { roomKeyOfNumber } from "../storage/room-index";
import { loadProfile } from "../storage/user-rows";
import type { RoomCommand } from "./commands";
import { roomStub } from "./stubs";

/** Room numbers never change, so each isolate remembers the keys it looked up. */
const keysByNumber = new Map<number, string>();

/** The key a room reference names, or null when no room has that number. */
export async function roomKeyOf(env: Env, ref: RoomRef): Promise<string | null> {
  if (typeof ref === "string") return ref;
  const known = keysByNumber.get(ref.number);
  if (known) return known;
  const key = await roomKeyOfNumber(env.DB, ref.number);
  if (key) keysByNumber.set(ref.number, key);
  return key;
}

export type DispatchedCommand = RoomCommand | Extract<Command, { kind: "send_direct" }>;

/**
 * Runs a chat command for `user` in the room it names, from any host (a user object, an HTTP route): the one
 * path from a decoded command into a room. A direct message creates its room on first use.
 */
export async function dispatch(env: Env, user: Profile, command: DispatchedCommand): Promise<CommandOutcome> {
  if (command.kind === "send_direct") {
    if (command.to === user.id) return refuse.badRequest("cannot message yourself");
    const key = directRoomKey(user.id, command.to);
    const peer = (await loadProfile(env.DB, command.to)) ?? { id: command.to, name: null, avatar: null };
    const room = roomStub(env, key);
    const created = await room.create({
      key,
      kind: "direct",
      creator: user,
      members: [{ profile: peer, role: "member" }],
    });
    if (!created.ok) return created;
    return room.run(user, { kind: "send", room: key, draft: command.draft });
  }
  const key = await roomKeyOf(env, command.room);
  if (!key) return refuse.roomNotFound();
  return roomStub(env, key).run(user, { ...command, room: key });
}
