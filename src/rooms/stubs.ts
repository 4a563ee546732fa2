import { countedStub, devStatsEnabled } from "../dev-stats";
import type { Env } from "../env";
import type { UserDO } from "../users/user-do";
import type { RoomDO } from "./room-do";

/** The typed stub of a room's object, named by the room key. */
export function roomStub(env: Env, key: string): DurableObjectStub<RoomDO> {
  const rooms = env.ROOMS as DurableObjectNamespace<RoomDO>;
  const stub = rooms.get(rooms.idFromName(key));
  return devStatsEnabled(env) ? countedStub("RoomDO", stub) : stub;
}

/** The typed stub of a user's object, named by the user id. */
export function userStub(env: Env, userId: string): DurableObjectStub<UserDO> {
  const users = env.USERS as DurableObjectNamespace<UserDO>;
  const stub = users.get(users.idFromName(userId));
  return devStatsEnabled(env) ? countedStub("UserDO", stub) : stub;
}
