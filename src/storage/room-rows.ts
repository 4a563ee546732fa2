import type { Member, Message, Role, Room } from "../domain/model";

/**
 * The D1 rows a RoomDO writes: it is the single writer of its room's rows, so these run only from there.
 * Every write is an idempotent upsert or delete, safe to retry.
 */

/** Inserts the room and its first members in one batch; returns the numeric id, or null if the key is taken. */
export async function insertRoomRow(
  db: D1Database,
  room: Omit<Room, "number">,
  members: Member[],
): Promise<number | null> {
  const insert = db
    .prepare(
      `INSERT INTO rooms (key, kind, name, description, metadata, private, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id`,
    )
    .bind(
      room.key,
      room.kind,
      room.name,
      room.description,
      JSON.stringify(room.metadata),
      room.private ? 1 : 0,
      room.created_by,
      room.created_at,
      room.created_at,
    );
  const results = await db.batch<{ id: number }>([
    insert,
    ...members.map((m) => membershipUpsert(db, room.key, m.user_id, m.role, m.joined_at)),
  ]);
  return results[0]?.results[0]?.id ?? null;
}

function membershipUpsert(db: D1Database, key: string, userId: string, role: Role, joinedAt: string) {
  return db
    .prepare(
      `INSERT INTO memberships (room_id, user_id, role, joined_at) SELECT id, ?, ?, ? FROM rooms WHERE key = ?
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role`,
    )
    .bind(userId, role, joinedAt, key);
}

export async function updateRoomRow(db: D1Database, room: Room, updatedAt: string): Promise<void> {
  await db
    .prepare(
      "UPDATE rooms SET name = ?, description = ?, metadata = ?, private = ?, updated_at = ? WHERE id = ?",
    )
    .bind(
      room.name,
      room.description,
      JSON.stringify(room.metadata),
      room.private ? 1 : 0,
      updatedAt,
      room.number,
    )
    .run();
}

export async function deleteRoomRow(db: D1Database, roomNumber: number): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM messages WHERE room_id = ?").bind(roomNumber),
    db.prepare("DELETE FROM read_markers WHERE room_id = ?").bind(roomNumber),
    db.prepare("DELETE FROM memberships WHERE room_id = ?").bind(roomNumber),
    db.prepare("DELETE FROM rooms WHERE id = ?").bind(roomNumber),
  ]);
}

export async function upsertMembershipRows(
  db: D1Database,
  roomKey: string,
  members: Member[],
): Promise<void> {
  if (members.length === 0) return;
  await db.batch(members.map((m) => membershipUpsert(db, roomKey, m.user_id, m.role, m.joined_at)));
}

export async function deleteMembershipRow(db: D1Database, roomNumber: number, userId: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM memberships WHERE room_id = ? AND user_id = ?").bind(roomNumber, userId),
    db.prepare("DELETE FROM read_markers WHERE room_id = ? AND user_id = ?").bind(roomNumber, userId),
  ]);
}

/** Writes a batch of outbox messages and read markers; replays of the same rows change nothing. */
export async function flushRoomRows(
  db: D1Database,
  roomNumber: number,
  messages: Message[],
  reads: { user_id: string; seq: number }[],
  now: string,
): Promise<void> {
  const statements = messages.map((m) =>
    db
      .prepare(
        `INSERT INTO messages (room_id, seq, id, sender_id, sender_name, sender_avatar, type, text, custom_type, data,
           recipient_id, parent_id, temp_id, created_at, edited_at, deleted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (room_id, seq) DO UPDATE SET text = excluded.text, data = excluded.data,
           edited_at = excluded.edited_at, deleted_at = excluded.deleted_at`,
      )
      .bind(
        roomNumber,
        m.seq,
        m.id,
        m.sender.id,
        m.sender.name,
        m.sender.avatar,
        m.type,
        m.text,
        m.custom_type,
        m.data === null || m.data === undefined ? null : JSON.stringify(m.data),
        m.to,
        m.parent_id,
        m.temp_id,
        m.created_at,
        m.edited_at,
        m.deleted_at,
      ),
  );
  const newest = messages.at(-1);
  if (newest) {
    statements.push(
      db
        .prepare("UPDATE rooms SET last_message_seq = MAX(last_message_seq, ?) WHERE id = ?")
        .bind(newest.seq, roomNumber),
    );
  }
  for (const r of reads) {
    statements.push(
      db
        .prepare(
          `INSERT INTO read_markers (room_id, user_id, seq, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (room_id, user_id) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at`,
        )
        .bind(roomNumber, r.user_id, r.seq, now),
    );
  }
  if (statements.length > 0) await db.batch(statements);
}

export interface MessageRow {
  room_key: string;
  seq: number;
  id: string;
  sender_id: string;
  sender_name: string | null;
  sender_avatar: string | null;
  type: Message["type"];
  text: string;
  custom_type: string | null;
  data: string | null;
  recipient_id: string | null;
  parent_id: string | null;
  temp_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

export function toMessage(row: MessageRow, roomKey: string): Message {
  return {
    id: row.id,
    room: roomKey,
    seq: row.seq,
    sender: { id: row.sender_id, name: row.sender_name, avatar: row.sender_avatar },
    type: row.type,
    text: row.text,
    custom_type: row.custom_type,
    data: row.data === null ? null : JSON.parse(row.data),
    to: row.recipient_id,
    parent_id: row.parent_id,
    temp_id: row.temp_id,
    created_at: row.created_at,
    edited_at: row.edited_at,
    deleted_at: row.deleted_at,
    version: 1,
    changed_seq: row.seq,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
  };
}

/** Messages of a room in (after, before) visible to `userId`, from D1 (older than the room keeps hot). */
export async function readMessageRows(
  db: D1Database,
  room: Pick<Room, "key" | "number">,
  userId: string,
  after: number,
  before: number,
  limit: number,
  newestFirst: boolean,
): Promise<Message[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM messages WHERE room_id = ? AND seq > ? AND seq < ?
         AND (recipient_id IS NULL OR recipient_id = ? OR sender_id = ?)
       ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
    )
    .bind(room.number, after, before, userId, userId, limit)
    .all<MessageRow>();
  return results.map((r) => toMessage(r, room.key));
}
