import type { Message, Role, Room, RoomKind } from "../domain/model";
import { type MessageRow, toMessage } from "./room-rows";

/**
 * Read queries the Worker runs against the rooms, memberships and messages that the RoomDOs write, plus the one
 * membership column a member writes for themself (`muted`).
 */

export interface RoomListItem {
  /** The index does not keep epochs: a room's epoch comes from the room (subscribed answers, acks). */
  room: Omit<Room, "epoch">;
  role: Role;
  muted: boolean;
  /** Others' visible, undeleted messages above my read marker. */
  unread_count: number;
  /** The newest message I can see, or null when there is none yet. */
  last_message: Message | null;
}

/** Where the next page of a room list starts: rooms are listed by last activity, then number, newest first. */
export interface RoomListCursor {
  active_at: string;
  number: number;
}

interface RoomListRow {
  number: number;
  key: string;
  kind: RoomKind;
  name: string | null;
  description: string | null;
  metadata: string;
  private: number;
  created_by: string;
  created_at: string;
  role: Role;
  muted: number;
  last_seq: number | null;
  active_at: string;
  unread_count: number;
}

function toRoom(row: RoomListRow): Omit<Room, "epoch"> {
  return {
    key: row.key,
    number: row.number,
    kind: row.kind,
    name: row.name,
    description: row.description,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    private: row.private === 1,
    created_by: row.created_by,
    created_at: row.created_at,
  };
}

/** Others' visible, undeleted messages above the read marker of user ?1 in a room: its unread count. */
const unreadCount = (room: string, readSeq: string) => `
  (SELECT COUNT(*) FROM messages u
     WHERE u.room_id = ${room} AND u.seq > ${readSeq} AND u.sender_id != ?1
       AND u.deleted_at IS NULL AND u.parent_id IS NULL
       AND (u.recipient_id IS NULL OR u.recipient_id = ?1))`;

/**
 * The last message is the newest one visible to the user at or below `rooms.last_message_seq` (a whisper to
 * someone else is skipped); a room's activity is that message's time, else the room's creation.
 */
const ROOMS_OF_USER = `
WITH mine AS (
  SELECT r.id AS number, r.key, r.kind, r.name, r.description, r.metadata, r.private, r.created_by, r.created_at,
    m.role, m.muted, COALESCE(rm.seq, 0) AS read_seq,
    (SELECT x.seq FROM messages x
       WHERE x.room_id = r.id AND x.seq <= r.last_message_seq
         AND (x.recipient_id IS NULL OR x.recipient_id = ?1 OR x.sender_id = ?1)
       ORDER BY x.seq DESC LIMIT 1) AS last_seq
  FROM memberships m
  JOIN rooms r ON r.id = m.room_id
  LEFT JOIN read_markers rm ON rm.room_id = m.room_id AND rm.user_id = m.user_id
  WHERE m.user_id = ?1
), listed AS (
  SELECT mine.*,
    COALESCE((SELECT l.created_at FROM messages l WHERE l.room_id = mine.number AND l.seq = mine.last_seq),
      mine.created_at) AS active_at
  FROM mine
)
SELECT listed.*, ${unreadCount("listed.number", "listed.read_seq")} AS unread_count
FROM listed
WHERE ?2 IS NULL OR active_at < ?2 OR (active_at = ?2 AND number < ?3)
ORDER BY active_at DESC, number DESC
LIMIT ?4`;

/** One page of the rooms `userId` is a member of, most recently active first. */
export async function roomsOfUser(
  db: D1Database,
  userId: string,
  limit: number,
  after: RoomListCursor | null,
): Promise<{ items: RoomListItem[]; next: RoomListCursor | null }> {
  const { results } = await db
    .prepare(ROOMS_OF_USER)
    .bind(userId, after?.active_at ?? null, after?.number ?? 0, limit + 1)
    .all<RoomListRow>();
  const page = results.slice(0, limit);
  const lastMessageRows = await lastMessageRowsOf(db, page);
  const items = page.map((row) => {
    const lastMessage = lastMessageRows.get(row.number);
    return {
      room: toRoom(row),
      role: row.role,
      muted: row.muted === 1,
      unread_count: row.unread_count,
      last_message: lastMessage ? toMessage(lastMessage, row.key) : null,
    };
  });
  const tail = page.at(-1);
  const next = results.length > limit && tail ? { active_at: tail.active_at, number: tail.number } : null;
  return { items, next };
}

/** The unread count of every room of `userId`, summed: the total a room list would show. */
export async function totalUnreadOf(db: D1Database, userId: string): Promise<number> {
  const row = await db
    .prepare(
      `SELECT COALESCE(SUM(${unreadCount("m.room_id", "COALESCE(rm.seq, 0)")}), 0) AS total
       FROM memberships m
       LEFT JOIN read_markers rm ON rm.room_id = m.room_id AND rm.user_id = m.user_id
       WHERE m.user_id = ?1`,
    )
    .bind(userId)
    .first<{ total: number }>();
  return row?.total ?? 0;
}

/** `userId`'s unread messages that mention them, in each of these rooms (the room list's mention counts). */
export async function mentionCountsOf(
  db: D1Database,
  userId: string,
  roomNumbers: readonly number[],
): Promise<Map<number, number>> {
  if (roomNumbers.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT u.room_id AS number, COUNT(*) AS n
       FROM json_each(?2) w
       JOIN messages u ON u.room_id = w.value
       LEFT JOIN read_markers rm ON rm.room_id = u.room_id AND rm.user_id = ?1
       WHERE u.seq > COALESCE(rm.seq, 0) AND u.sender_id != ?1 AND u.deleted_at IS NULL AND u.parent_id IS NULL
         AND (u.recipient_id IS NULL OR u.recipient_id = ?1)
         AND (u.mentions_room = 1 OR EXISTS (SELECT 1 FROM json_each(u.mentions) x WHERE x.value = ?1))
       GROUP BY u.room_id`,
    )
    .bind(userId, JSON.stringify(roomNumbers))
    .all<{ number: number; n: number }>();
  return new Map(results.map((r) => [r.number, r.n]));
}

/** The rows of the listed rooms' last messages, by room number. */
async function lastMessageRowsOf(db: D1Database, rooms: RoomListRow[]): Promise<Map<number, MessageRow>> {
  const wanted = rooms.filter((r) => r.last_seq !== null).map((r) => [r.number, r.last_seq]);
  if (wanted.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT m.* FROM json_each(?) w
       JOIN messages m ON m.room_id = json_extract(w.value, '$[0]') AND m.seq = json_extract(w.value, '$[1]')`,
    )
    .bind(JSON.stringify(wanted))
    .all<MessageRow & { room_id: number }>();
  return new Map(results.map((row) => [row.room_id, row]));
}

/** The string key of the room with this numeric id, or null when there is none. */
/**
 * The key of the room a URL segment names: the room with that key, else, when the segment is all digits, the
 * room with that number. Keys may be all digits too (STOMP channel keys), so the key is tried first.
 */
export async function resolveRoomRef(db: D1Database, ref: string): Promise<string | null> {
  if (!/^\d{1,15}$/.test(ref)) return ref || null;
  const row = await db
    .prepare("SELECT key FROM rooms WHERE key = ?1 UNION ALL SELECT key FROM rooms WHERE id = ?2 LIMIT 1")
    .bind(ref, Number(ref))
    .first<{ key: string }>();
  return row?.key ?? null;
}

/** The room a message id belongs to, once the message reached D1 (a flush after it was stored). */
export async function roomKeyOfMessage(db: D1Database, messageId: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT r.key FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = ?")
    .bind(messageId)
    .first<{ key: string }>();
  return row?.key ?? null;
}

export async function roomKeyOfNumber(db: D1Database, number: number): Promise<string | null> {
  return (await db.prepare("SELECT key FROM rooms WHERE id = ?").bind(number).first<string>("key")) ?? null;
}

/** Sets the user's push mute for the room; false when the user is not a member of it. */
export async function setRoomMuted(
  db: D1Database,
  roomKey: string,
  userId: string,
  muted: boolean,
): Promise<boolean> {
  const result = await db
    .prepare(
      "UPDATE memberships SET muted = ? WHERE user_id = ? AND room_id = (SELECT id FROM rooms WHERE key = ?)",
    )
    .bind(muted ? 1 : 0, userId, roomKey)
    .run();
  return result.meta.changes > 0;
}
