import { v7 as uuidv7 } from "uuid";
import type { Notification, Profile } from "../domain/model";
import type { NotificationDraft } from "../domain/notifications";

/** A feed keeps its newest entries only, read or not. */
export const FEED_CAP = 500;

type NotificationRow = {
  id: string;
  kind: Notification["kind"];
  room: string;
  message_id: string | null;
  message_seq: number | null;
  thread_id: string | null;
  actor: string;
  text: string | null;
  created_at: string;
  read_at: string | null;
};

const toNotification = (row: NotificationRow): Notification => ({
  ...row,
  actor: JSON.parse(row.actor) as Profile,
});

/**
 * The user's notification feed in their UserDO's SQLite. Entries are ordered by arrival (`ord`); one message
 * gives a user at most one entry, so a redelivered batch adds nothing (`dedup` is the entry's kind, room and
 * message, or for `added` its room and time).
 */
export class NotificationStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS notifications (
        ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, dedup TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        room TEXT NOT NULL, message_id TEXT, message_seq INTEGER, thread_id TEXT, actor TEXT NOT NULL,
        text TEXT, created_at TEXT NOT NULL, read_at TEXT);
      CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (read_at);
      CREATE INDEX IF NOT EXISTS notifications_by_message ON notifications (room, message_id);
    `);
  }

  /** Adds the entries not already in the feed and returns them (to send as `notification` events), then caps it. */
  add(drafts: readonly NotificationDraft[]): Notification[] {
    const added: Notification[] = [];
    for (const { user_id: _, ...draft } of drafts) {
      const dedup =
        draft.message_id === null
          ? `${draft.kind}:${draft.room}:${draft.created_at}`
          : `message:${draft.room}:${draft.message_id}`;
      const row = this.sql
        .exec<NotificationRow>(
          `INSERT INTO notifications (id, dedup, kind, room, message_id, message_seq, thread_id, actor, text, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup) DO NOTHING
           RETURNING id, kind, room, message_id, message_seq, thread_id, actor, text, created_at, read_at`,
          uuidv7(),
          dedup,
          draft.kind,
          draft.room,
          draft.message_id,
          draft.message_seq,
          draft.thread_id,
          JSON.stringify(draft.actor),
          draft.text,
          draft.created_at,
        )
        .toArray()[0];
      if (row) added.push(toNotification(row));
    }
    if (added.length > 0)
      this.sql.exec(
        "DELETE FROM notifications WHERE ord <= (SELECT ord FROM notifications ORDER BY ord DESC LIMIT 1 OFFSET ?)",
        FEED_CAP,
      );
    return added.filter((n) => this.has(n.id));
  }

  /** The feed, newest first; `before` is the id of the last entry of the previous page. */
  list(limit: number, before: string | null = null): Notification[] {
    return this.sql
      .exec<NotificationRow>(
        `SELECT id, kind, room, message_id, message_seq, thread_id, actor, text, created_at, read_at
         FROM notifications WHERE ?1 IS NULL OR ord < (SELECT ord FROM notifications WHERE id = ?1)
         ORDER BY ord DESC LIMIT ?2`,
        before,
        limit,
      )
      .toArray()
      .map(toNotification);
  }

  /** Entries not read yet: the feed's new-notifications count. */
  unreadCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM notifications WHERE read_at IS NULL").one()
      .n;
  }

  /** Marks one entry read; false when it is unknown or was read already (no count change to announce). */
  markRead(id: string, at: string): boolean {
    return (
      this.sql.exec("UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL", at, id)
        .rowsWritten > 0
    );
  }

  /** Marks every entry read; returns how many were unread. */
  markAllRead(at: string): number {
    // `rowsWritten` counts index writes too: count the rows themselves.
    return this.sql
      .exec("UPDATE notifications SET read_at = ? WHERE read_at IS NULL RETURNING ord", at)
      .toArray().length;
  }

  /** A message was edited: its entries preview the new text. */
  reviseMessage(room: string, messageId: string, text: string | null): void {
    this.sql.exec(
      "UPDATE notifications SET text = ? WHERE room = ? AND message_id = ?",
      text,
      room,
      messageId,
    );
  }

  /** A message was deleted: its entries go, since they quote it. True when an unread one went (the count moved). */
  forgetMessage(room: string, messageId: string): boolean {
    const gone = this.sql
      .exec<{ read_at: string | null }>(
        "DELETE FROM notifications WHERE room = ? AND message_id = ? RETURNING read_at",
        room,
        messageId,
      )
      .toArray();
    return gone.some((r) => r.read_at === null);
  }

  /** The user lost the room (left, removed, banned, deleted): its entries go. True when an unread one went. */
  forgetRoom(room: string): boolean {
    const gone = this.sql
      .exec<{ read_at: string | null }>("DELETE FROM notifications WHERE room = ? RETURNING read_at", room)
      .toArray();
    return gone.some((r) => r.read_at === null);
  }

  private has(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM notifications WHERE id = ?", id).toArray().length > 0;
  }
}
