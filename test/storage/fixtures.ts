import { env } from "cloudflare:test";
import { newMessageId } from "../../src/domain/ids";
import type { ChangedMessage, RowChange } from "../../src/domain/lifecycle";
import type { Message, Room, RoomKind } from "../../src/domain/model";
import { flushRoomRows, insertRoomRow } from "../../src/storage/room-rows";
import { message, room } from "../domain/fixtures";

/** D1 rows for the storage tests: a room with members, and messages flushed the way a RoomDO flushes them. */

let made = 0;

export async function roomRow(
  kind: RoomKind,
  members: string[],
  options: { private?: boolean } = {},
): Promise<Pick<Room, "key" | "number">> {
  made += 1;
  const key = `st-${kind}-${made}-${crypto.randomUUID().slice(0, 8)}`;
  const joined = "2026-01-01T00:00:00.000Z";
  const number = await insertRoomRow(
    env.DB,
    { ...room({ key, kind, private: options.private ?? false }) },
    members.map((user_id, i) => ({ user_id, role: i === 0 ? "owner" : "member", joined_at: joined })),
  );
  if (number === null) throw new Error(`room ${key} exists`);
  return { key, number };
}

/** A message of that room with a fresh UUIDv7 id (ids order by time); `changed_seq` follows `seq` unless given. */
export const roomMessage = (r: Pick<Room, "key">, overrides: Partial<Message>): Message =>
  message({ room: r.key, id: newMessageId(), ...overrides });

export const change = (m: Message, kind: RowChange = "post", at = m.created_at): ChangedMessage => ({
  message: m,
  change: kind,
  at,
});

export const flush = (r: Pick<Room, "number">, changes: ChangedMessage[]) =>
  flushRoomRows(env.DB, r.number, changes, [], "2026-01-01T00:00:00.000Z");
