import type { Command, CommandOutcome, RoomRef } from "../domain/commands";
import { type Outcome, ok, refuse } from "../domain/errors";
import { directRoomKey } from "../domain/ids";
import type { Profile } from "../domain/model";
import type { Env } from "../env";
import { roomKeyOfMessage, roomKeyOfNumber } from "../storage/room-index";
import { loadProfile } from "../storage/user-rows";
import type { RoomCommand } from "./commands";
import { roomStub } from "./stubs";

/** Room numbers never change, so each isolate remembers the keys it looked up. */
const keysByNumber = new Map<number, string>();

/** The key a room reference names, or null when no room has that number. */
export async function roomKeyOf(env: Env, ref: RoomRef): Promise<string | null> {
  if (typeof ref === "string") return ref;
  if ("message_id" in ref) return roomKeyOfMessage(env.DB, ref.message_id);
  const known = keysByNumber.get(ref.number);
  if (known) return known;
  const key = await roomKeyOfNumber(env.DB, ref.number);
  if (key) keysByNumber.set(ref.number, key);
  return key;
}

/** The direct room of `user` and `to`, created on first use; its key. */
export async function openDirectRoom(env: Env, user: Profile, to: string): Promise<Outcome<string>> {
  if (to === user.id) return refuse.badRequest("cannot message yourself");
  const key = directRoomKey(user.id, to);
  const peer = (await loadProfile(env.DB, to)) ?? { id: to, name: null, avatar: null };
  const created = await roomStub(env, key).create({
    key,
    kind: "direct",
    creator: user,
    members: [{ profile: peer, role: "member" }],
  });
  return created.ok ? ok(key) : created;
}

export type DispatchedCommand = RoomCommand | Extract<Command, { kind: "send_direct" }>;

/**
 * Runs a chat command for `user` in the room it names, from any host (a user object, an HTTP route): the one
 * path from a decoded command into a room. A direct message creates its room on first use.
 */
export async function dispatch(env: Env, user: Profile, command: DispatchedCommand): Promise<CommandOutcome> {
  if (command.kind === "send_direct") {
    const opened = await openDirectRoom(env, user, command.to);
    if (!opened.ok) return opened;
    return roomStub(env, opened.value).run(user, { kind: "send", room: opened.value, draft: command.draft });
  }
  const key = await roomKeyOf(env, command.room);
  if (!key) return refuse.roomNotFound();
  return roomStub(env, key).run(user, { ...command, room: key });
}
