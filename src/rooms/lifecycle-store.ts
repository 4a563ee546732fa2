import { fail, type Outcome, ok } from "../domain/errors";
import type { Message, Profile, ReactionSummary, ThreadSummary } from "../domain/model";
import { exceedsEmojiLimit, summarizeReactions } from "../domain/reactions";
import { summarizeThread, type ThreadReplier } from "../domain/threads";

/** One pinned message of the room. */
export interface RoomPin {
  message_id: string;
  seq: number;
  pinned_at: string;
  pinned_by: Profile;
}

/** A previous version of an edited message, kept for moderators. */
export interface EditRecord {
  version: number;
  text: string;
  data: unknown;
  /** When the edit that replaced this version happened. */
  replaced_at: string;
}

/** One thread a member started or replied to. */
export interface MemberThread {
  root_id: string;
  root_seq: number;
  last_reply_seq: number;
  /** Others' replies above the member's thread read marker. */
  unread: number;
}

/**
 * The message lifecycle's state in the RoomDO's own SQLite, kept apart from the message log: threads (root, one
 * row per standing reply), thread read markers, reactions, the edit history, room pins and members' own pins of
 * the room. None of it is pruned with the hot log, so a thread, reaction or pin on an old message still works.
 * The room writes each result into the message's JSON when it changes (the summaries are materialised there and
 * in D1), so history reads never join these tables. Every method is synchronous: the Durable Object's single
 * thread makes each one atomic, and the caller wraps a command's calls in one `transactionSync`.
 */
export class LifecycleStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS thread_roots (
        root_id TEXT PRIMARY KEY, root_seq INTEGER NOT NULL, author_id TEXT NOT NULL, author_name TEXT,
        author_avatar TEXT);
      CREATE TABLE IF NOT EXISTS thread_replies (
        seq INTEGER PRIMARY KEY, root_id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, avatar TEXT,
        at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS thread_replies_by_root ON thread_replies (root_id, seq);
      CREATE INDEX IF NOT EXISTS thread_replies_by_user ON thread_replies (user_id, root_id);
      CREATE TABLE IF NOT EXISTS thread_reads (
        user_id TEXT NOT NULL, root_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, root_id));
      CREATE TABLE IF NOT EXISTS reactions (
        message_id TEXT NOT NULL, emoji TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, avatar TEXT,
        at TEXT NOT NULL, PRIMARY KEY (message_id, emoji, user_id));
      CREATE TABLE IF NOT EXISTS message_edits (
        message_id TEXT NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL, data TEXT,
        replaced_at TEXT NOT NULL, PRIMARY KEY (message_id, version));
      CREATE TABLE IF NOT EXISTS pins (
        message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, pinned_at TEXT NOT NULL, pinned_by TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS member_pins (user_id TEXT PRIMARY KEY, pinned_at TEXT, dirty INTEGER NOT NULL);
    `);
  }

  /** Forgets every lifecycle row (the room was deleted). */
  wipe(): void {
    for (const table of [
      "thread_roots",
      "thread_replies",
      "thread_reads",
      "reactions",
      "message_edits",
      "pins",
      "member_pins",
    ]) {
      this.sql.exec(`DELETE FROM ${table}`);
    }
  }

  // ---- threads ----

  /** Records a reply (checked with `checkReplyRoot`) and returns its root's new summary. Replaying one is a no-op. */
  recordReply(root: Message, reply: Message): ThreadSummary {
    this.sql.exec(
      `INSERT OR IGNORE INTO thread_roots (root_id, root_seq, author_id, author_name, author_avatar)
       VALUES (?, ?, ?, ?, ?)`,
      root.id,
      root.seq,
      root.sender.id,
      root.sender.name,
      root.sender.avatar,
    );
    this.sql.exec(
      "INSERT OR IGNORE INTO thread_replies (seq, root_id, user_id, name, avatar, at) VALUES (?, ?, ?, ?, ?, ?)",
      reply.seq,
      root.id,
      reply.sender.id,
      reply.sender.name,
      reply.sender.avatar,
      reply.created_at,
    );
    const summary = this.threadSummary(root.id);
    if (!summary) throw new Error(`thread ${root.id} has no replies right after one was recorded`);
    return summary;
  }

  /** The summary a thread root carries, or null when it has no standing reply. */
  threadSummary(rootId: string): ThreadSummary | null {
    const root = this.sql
      .exec<{ id: string; name: string | null; avatar: string | null }>(
        "SELECT author_id AS id, author_name AS name, author_avatar AS avatar FROM thread_roots WHERE root_id = ?",
        rootId,
      )
      .toArray()[0];
    if (!root) return null;
    const repliers = this.sql
      .exec<{
        id: string;
        name: string | null;
        avatar: string | null;
        first: number;
        last: string;
        n: number;
      }>(
        `SELECT user_id AS id, name, avatar, MIN(seq) AS first, MAX(at) AS last, COUNT(*) AS n
         FROM thread_replies WHERE root_id = ? GROUP BY user_id`,
        rootId,
      )
      .toArray()
      .map(
        (r): ThreadReplier => ({
          user: { id: r.id, name: r.name, avatar: r.avatar },
          first_reply_seq: r.first,
          last_reply_at: r.last,
          replies: r.n,
        }),
      );
    return summarizeThread(root, repliers);
  }

  /** Who follows a thread (its root's author and everyone with a standing reply): where its events go. */
  followers(rootId: string): string[] {
    return this.sql
      .exec<{ user_id: string }>(
        `SELECT author_id AS user_id FROM thread_roots WHERE root_id = ?1
         UNION SELECT user_id FROM thread_replies WHERE root_id = ?1`,
        rootId,
      )
      .toArray()
      .map((r) => r.user_id);
  }

  /** Seqs of a thread's standing replies in (after, before); `newestFirst` walks back from `before`. */
  replySeqs(rootId: string, after: number, before: number, limit: number, newestFirst: boolean): number[] {
    return this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM thread_replies WHERE root_id = ? AND seq > ? AND seq < ?
         ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
        rootId,
        after,
        before,
        limit,
      )
      .toArray()
      .map((r) => r.seq);
  }

  /** The threads a member started or replied to, most recent reply first, older than `beforeReplySeq`. */
  threadsOf(userId: string, limit: number, beforeReplySeq = Number.MAX_SAFE_INTEGER): MemberThread[] {
    return this.sql
      .exec<{ root_id: string; root_seq: number; last_reply_seq: number; unread: number }>(
        `SELECT t.root_id, t.root_seq, MAX(r.seq) AS last_reply_seq,
           SUM(CASE WHEN r.user_id != ?1 AND r.seq > COALESCE(tr.seq, 0) THEN 1 ELSE 0 END) AS unread
         FROM thread_roots t
         JOIN thread_replies r ON r.root_id = t.root_id
         LEFT JOIN thread_reads tr ON tr.root_id = t.root_id AND tr.user_id = ?1
         WHERE t.author_id = ?1 OR EXISTS (SELECT 1 FROM thread_replies m WHERE m.root_id = t.root_id AND m.user_id = ?1)
         GROUP BY t.root_id HAVING last_reply_seq < ?2
         ORDER BY last_reply_seq DESC LIMIT ?3`,
        userId,
        beforeReplySeq,
        limit,
      )
      .toArray();
  }

  /** Moves the member's read marker to the thread's newest reply; null when the thread has no standing reply. */
  markThreadRead(userId: string, rootId: string): number | null {
    const newest = this.sql
      .exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM thread_replies WHERE root_id = ?", rootId)
      .one().seq;
    if (newest === null) return null;
    this.sql.exec(
      `INSERT INTO thread_reads (user_id, root_id, seq) VALUES (?, ?, ?)
       ON CONFLICT (user_id, root_id) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
      userId,
      rootId,
      newest,
    );
    return newest;
  }

  /** Others' standing replies in the thread above the member's thread read marker. */
  threadUnread(userId: string, rootId: string): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM thread_replies WHERE root_id = ?1 AND user_id != ?2
           AND seq > COALESCE((SELECT seq FROM thread_reads WHERE user_id = ?2 AND root_id = ?1), 0)`,
        rootId,
        userId,
      )
      .one().n;
  }

  // ---- reactions ----

  /**
   * Adds or removes one user's reaction (an emoji from `planReaction`). `changed` is false when it was already so
   * (no event); a new emoji beyond `MAX_EMOJI_PER_MESSAGE` is refused as a conflict.
   */
  react(
    messageId: string,
    emoji: string,
    user: Profile,
    add: boolean,
    at: string,
  ): Outcome<{ changed: boolean; reactions: ReactionSummary[] }> {
    if (add) {
      const present = this.sql
        .exec<{ emoji: string }>("SELECT DISTINCT emoji FROM reactions WHERE message_id = ?", messageId)
        .toArray()
        .map((r) => r.emoji);
      if (exceedsEmojiLimit(present, emoji))
        return fail("conflict", "this message carries as many different reactions as it may");
    }
    const written = add
      ? this.sql.exec(
          `INSERT OR IGNORE INTO reactions (message_id, emoji, user_id, name, avatar, at) VALUES (?, ?, ?, ?, ?, ?)`,
          messageId,
          emoji,
          user.id,
          user.name,
          user.avatar,
          at,
        ).rowsWritten
      : this.sql.exec(
          "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?",
          messageId,
          emoji,
          user.id,
        ).rowsWritten;
    return ok({ changed: written > 0, reactions: this.reactions(messageId) });
  }

  /** Whether `userId` reacted to the message with `emoji` (for `add: "toggle"`). */
  hasReacted(messageId: string, emoji: string, userId: string): boolean {
    return (
      this.sql
        .exec(
          "SELECT 1 FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?",
          messageId,
          emoji,
          userId,
        )
        .toArray().length > 0
    );
  }

  /** A message's reactions as it carries them. */
  reactions(messageId: string): ReactionSummary[] {
    const rows = this.sql
      .exec<{ emoji: string; id: string; name: string | null; avatar: string | null }>(
        "SELECT emoji, user_id AS id, name, avatar FROM reactions WHERE message_id = ? ORDER BY rowid",
        messageId,
      )
      .toArray();
    return summarizeReactions(rows.map(({ emoji, ...user }) => ({ emoji, user })));
  }

  // ---- edit history ----

  /** Keeps the version an edit replaces. */
  recordEdit(previous: Message, replacedAt: string): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO message_edits (message_id, version, text, data, replaced_at) VALUES (?, ?, ?, ?, ?)",
      previous.id,
      previous.version,
      previous.text,
      previous.data === null || previous.data === undefined ? null : JSON.stringify(previous.data),
      replacedAt,
    );
  }

  /** The versions edits replaced, oldest first (for moderators: `canReadEditHistory`). */
  editHistory(messageId: string): EditRecord[] {
    return this.sql
      .exec<{ version: number; text: string; data: string | null; replaced_at: string }>(
        "SELECT version, text, data, replaced_at FROM message_edits WHERE message_id = ? ORDER BY version",
        messageId,
      )
      .toArray()
      .map((r) => ({ ...r, data: r.data === null ? null : JSON.parse(r.data) }));
  }

  // ---- room pins ----

  /** Writes a pin or unpin decided by `planPin` (the message carries the new `pinned_at`). */
  setPinned(message: Message, by: Profile): void {
    if (message.pinned_at === null) {
      this.sql.exec("DELETE FROM pins WHERE message_id = ?", message.id);
      return;
    }
    this.sql.exec(
      "INSERT OR REPLACE INTO pins (message_id, seq, pinned_at, pinned_by) VALUES (?, ?, ?, ?)",
      message.id,
      message.seq,
      message.pinned_at,
      JSON.stringify(by),
    );
  }

  pinCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pins").one().n;
  }

  /** The room's pinned messages, newest pin first; the first is the room's `pinned_message`. */
  pins(limit: number): RoomPin[] {
    return this.sql
      .exec<{ message_id: string; seq: number; pinned_at: string; pinned_by: string }>(
        "SELECT message_id, seq, pinned_at, pinned_by FROM pins ORDER BY pinned_at DESC, seq DESC LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({ ...r, pinned_by: JSON.parse(r.pinned_by) as Profile }));
  }

  // ---- members' own pins of the room ----

  /** Pins or unpins the room in a member's list; `changed` is false when it already was so (no event). */
  pinRoom(userId: string, pinned: boolean, at: string): { changed: boolean; pinned_at: string | null } {
    const current = this.roomPinOf(userId);
    if ((current !== null) === pinned) return { changed: false, pinned_at: current };
    const pinnedAt = pinned ? at : null;
    this.sql.exec(
      "INSERT OR REPLACE INTO member_pins (user_id, pinned_at, dirty) VALUES (?, ?, 1)",
      userId,
      pinnedAt,
    );
    return { changed: true, pinned_at: pinnedAt };
  }

  roomPinOf(userId: string): string | null {
    return (
      this.sql
        .exec<{ pinned_at: string | null }>("SELECT pinned_at FROM member_pins WHERE user_id = ?", userId)
        .toArray()[0]?.pinned_at ?? null
    );
  }

  /** Members' pins not yet written to D1 (`memberships.pinned_at`). */
  pendingRoomPins(limit: number): { user_id: string; pinned_at: string | null }[] {
    return this.sql
      .exec<{ user_id: string; pinned_at: string | null }>(
        "SELECT user_id, pinned_at FROM member_pins WHERE dirty = 1 LIMIT ?",
        limit,
      )
      .toArray();
  }

  /** Marks flushed pins clean unless they changed during the flush; flushed unpins are forgotten. */
  roomPinsFlushed(rows: { user_id: string; pinned_at: string | null }[]): void {
    for (const r of rows) {
      this.sql.exec(
        "UPDATE member_pins SET dirty = 0 WHERE user_id = ? AND pinned_at IS ?",
        r.user_id,
        r.pinned_at,
      );
    }
    this.sql.exec("DELETE FROM member_pins WHERE dirty = 0 AND pinned_at IS NULL");
  }

  /** A member left or was removed: their own pin and thread read markers go (D1 drops their membership row). */
  forgetMember(userId: string): void {
    this.sql.exec("DELETE FROM member_pins WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM thread_reads WHERE user_id = ?", userId);
  }

  // ---- deletion ----

  /**
   * Wipes what a deleted message leaves here: its reactions, pin and edit history, and for a reply its place in
   * the thread. Returns the reply's root and that root's new summary, or null for a message that is no reply.
   */
  forgetMessage(message: Message): { root_id: string; thread: ThreadSummary | null } | null {
    this.sql.exec("DELETE FROM reactions WHERE message_id = ?", message.id);
    this.sql.exec("DELETE FROM pins WHERE message_id = ?", message.id);
    this.sql.exec("DELETE FROM message_edits WHERE message_id = ?", message.id);
    if (message.parent_id === null) return null;
    this.sql.exec("DELETE FROM thread_replies WHERE seq = ?", message.seq);
    return { root_id: message.parent_id, thread: this.threadSummary(message.parent_id) };
  }
}
