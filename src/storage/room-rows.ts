import { roomNumberOfKey } from "../domain/ids";
import type { ChangedMessage, RowChange } from "../domain/lifecycle";
import type { Member, Message, ReactionSummary, Role, Room, ThreadSummary } from "../domain/model";

/**
 * The D1 rows a RoomDO writes: it is the single writer of its room's rows, so these run only from there.
 * Every write is an idempotent upsert or delete, safe to retry.
 */

/**
 * Inserts the room and its first members in one batch; returns the numeric id, or null if the key (or the number
 * an all-digit key claims, `roomNumberOfKey`) is taken. AUTOINCREMENT never hands out a claimed number later.
 */
export async function insertRoomRow(
  db: D1Database,
  room: Omit<Room, "number">,
  members: Member[],
): Promise<number | null> {
  const insert = db
    .prepare(
      `INSERT INTO rooms (id, key, kind, name, description, metadata, private, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
    )
    .bind(
      roomNumberOfKey(room.key),
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

/** A member's own pin of the room, for `memberships.pinned_at` (null: unpinned). */
export interface RoomPinRow {
  user_id: string;
  pinned_at: string | null;
}

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

/**
 * Writes a batch of message changes, read markers and members' room pins. Each message row is its newest state:
 * a row is replaced only by a change with a higher `changed_seq`, so replays and out-of-order batches change
 * nothing, and a tombstone's upsert wipes the text, data, reactions and mentions (and, by trigger, its search
 * entry).
 */
export async function flushRoomRows(
  db: D1Database,
  roomNumber: number,
  changes: ChangedMessage[],
  reads: { user_id: string; seq: number }[],
  now: string,
  roomPins: RoomPinRow[] = [],
): Promise<void> {
  const statements = changes.map(({ message: m, change, at }) =>
    db
      .prepare(
        `INSERT INTO messages (room_id, seq, id, sender_id, sender_name, sender_avatar, type, text, custom_type, data,
           recipient_id, parent_id, temp_id, created_at, edited_at, deleted_at, version, changed_seq, last_change,
           changed_at, thread, reactions, pinned_at, mentions, mentions_room)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (room_id, seq) DO UPDATE SET text = excluded.text, data = excluded.data,
           edited_at = excluded.edited_at, deleted_at = excluded.deleted_at, version = excluded.version,
           changed_seq = excluded.changed_seq, last_change = excluded.last_change, changed_at = excluded.changed_at,
           thread = excluded.thread, reactions = excluded.reactions, pinned_at = excluded.pinned_at,
           mentions = excluded.mentions, mentions_room = excluded.mentions_room
         WHERE excluded.changed_seq > messages.changed_seq`,
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
        json(m.data),
        m.to,
        m.parent_id,
        m.temp_id,
        m.created_at,
        m.edited_at,
        m.deleted_at,
        m.version,
        m.changed_seq,
        change,
        at,
        json(m.thread),
        JSON.stringify(m.reactions),
        m.pinned_at,
        JSON.stringify(m.mentions),
        m.mentions_room ? 1 : 0,
      ),
  );
  // Any change's message was posted, and a message posted and changed in one batch carries its newest change.
  const newestPosted = changes.reduce((seq, c) => Math.max(seq, c.message.seq), 0);
  if (newestPosted > 0) {
    statements.push(
      db
        .prepare("UPDATE rooms SET last_message_seq = MAX(last_message_seq, ?) WHERE id = ?")
        .bind(newestPosted, roomNumber),
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
  for (const p of roomPins) {
    statements.push(
      db
        .prepare("UPDATE memberships SET pinned_at = ? WHERE room_id = ? AND user_id = ?")
        .bind(p.pinned_at, roomNumber, p.user_id),
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
  version: number;
  changed_seq: number;
  last_change: RowChange;
  changed_at: string | null;
  thread: string | null;
  reactions: string;
  pinned_at: string | null;
  mentions: string;
  mentions_room: number;
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
    version: row.version,
    changed_seq: row.changed_seq,
    thread: row.thread === null ? null : (JSON.parse(row.thread) as ThreadSummary),
    reactions: JSON.parse(row.reactions) as ReactionSummary[],
    pinned_at: row.pinned_at,
    mentions: JSON.parse(row.mentions) as string[],
    mentions_room: row.mentions_room === 1,
  };
}

const toChangedMessage = (row: MessageRow, roomKey: string): ChangedMessage => {
  const message = toMessage(row, roomKey);
  return { message, change: row.last_change, at: row.changed_at ?? message.created_at };
};

/** Whisper visibility as SQL, `?` bound twice to the reader's id. */
const VISIBLE = "(recipient_id IS NULL OR recipient_id = ? OR sender_id = ?)";

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
      `SELECT * FROM messages WHERE room_id = ? AND seq > ? AND seq < ? AND ${VISIBLE}
       ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
    )
    .bind(room.number, after, before, userId, userId, limit)
    .all<MessageRow>();
  return results.map((r) => toMessage(r, room.key));
}

/**
 * How many messages in (after, before) count toward `userId`'s unread (the rule of `countsAsUnread` in
 * `domain/lifecycle.ts`), and how many of those mention them: the part of a read marker's backlog older than the
 * room's own log.
 */
export async function countUnreadRows(
  db: D1Database,
  roomNumber: number,
  userId: string,
  after: number,
  before: number,
): Promise<{ unread: number; mentions: number }> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS unread,
         COALESCE(SUM(mentions_room = 1 OR EXISTS (SELECT 1 FROM json_each(mentions) WHERE value = ?4)), 0)
           AS mentions
       FROM messages WHERE room_id = ?1 AND seq > ?2 AND seq < ?3 AND sender_id != ?4
         AND (recipient_id IS NULL OR recipient_id = ?4) AND deleted_at IS NULL AND parent_id IS NULL`,
    )
    .bind(roomNumber, after, before, userId)
    .first<{ unread: number; mentions: number }>();
  return { unread: row?.unread ?? 0, mentions: row?.mentions ?? 0 };
}

/** One thread's replies in (after, before) visible to `userId`, from D1. */
export async function readThreadRows(
  db: D1Database,
  room: Pick<Room, "key" | "number">,
  rootId: string,
  userId: string,
  after: number,
  before: number,
  limit: number,
  newestFirst: boolean,
): Promise<Message[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM messages WHERE room_id = ? AND parent_id = ? AND seq > ? AND seq < ? AND ${VISIBLE}
       ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
    )
    .bind(room.number, rootId, after, before, userId, userId, limit)
    .all<MessageRow>();
  return results.map((r) => toMessage(r, room.key));
}

/**
 * A message by id from D1, whatever its visibility (the caller applies `targetOf`): the target of an edit,
 * deletion, reaction, pin or reply that is older than the room keeps hot.
 */
export async function readMessageRowById(
  db: D1Database,
  room: Pick<Room, "key" | "number">,
  messageId: string,
): Promise<Message | null> {
  const row = await db
    .prepare("SELECT * FROM messages WHERE room_id = ? AND id = ?")
    .bind(room.number, messageId)
    .first<MessageRow>();
  return row ? toMessage(row, room.key) : null;
}

/**
 * The rows a client that stopped at `since` needs from D1, for the part of the log the room no longer keeps
 * (below `floor`): messages posted in (since, floor) and older messages whose last change is in (since, floor),
 * visible to `userId`, by `replayPosition`. Page with `from`: the previous page's `next`. A page never splits the
 * rows of one event (a deleted reply and its root), so `replayEvents` can pair them.
 */
export async function changedMessagesAfter(
  db: D1Database,
  room: Pick<Room, "key" | "number">,
  userId: string,
  since: number,
  floor: number,
  limit: number,
  from: number = since,
): Promise<{ rows: ChangedMessage[]; next: number | null }> {
  const { results } = await db
    .prepare(
      `SELECT *, seq AS pos FROM messages WHERE room_id = ?1 AND seq > ?3 AND seq < ?4 AND ${VISIBLE.replaceAll("?", "?2")}
       UNION ALL
       SELECT *, changed_seq AS pos FROM messages
       WHERE room_id = ?1 AND seq <= ?5 AND changed_seq > ?3 AND changed_seq < ?4 AND ${VISIBLE.replaceAll("?", "?2")}
       ORDER BY pos, seq LIMIT ?6`,
    )
    .bind(room.number, userId, Math.max(from, since), floor, since, limit + 2)
    .all<MessageRow & { pos: number }>();
  if (results.length <= limit) return { rows: results.map((r) => toChangedMessage(r, room.key)), next: null };
  const cut = results[limit]?.pos ?? floor;
  const before = results.filter((r) => r.pos < cut);
  // When the whole page is one event's rows (at most a reply and its root) it cannot be split: take them all.
  const rows = before.length > 0 ? before : results.filter((r) => r.pos === cut);
  const last = rows.at(-1)?.pos ?? cut;
  return {
    rows: rows.map((r) => toChangedMessage(r, room.key)),
    next: results.some((r) => r.pos > last) ? last : null,
  };
}

/** The seq of the room's first message created at or after `at` (ISO time), or null when none is. */
export async function firstSeqAtOrAfter(
  db: D1Database,
  room: Pick<Room, "number">,
  at: string,
): Promise<number | null> {
  const row = await db
    .prepare("SELECT MIN(seq) AS seq FROM messages WHERE room_id = ? AND created_at >= ?")
    .bind(room.number, at)
    .first<{ seq: number | null }>();
  return row?.seq ?? null;
}
