import type { DurableEvent } from "../domain/events";
import type { ChangedMessage, RowChange } from "../domain/lifecycle";
import type { Member, Message, Profile, Role, Room } from "../domain/model";
import type { NotificationDraft } from "../domain/notifications";
import { HOT_EVENTS } from "../env";

/** One outbox row: the message at `message_seq` changed by the event at `seq`. */
export interface OutboxKey {
  seq: number;
  message_seq: number;
}
/** Idempotency keys are kept at least this long. */
export const IDEMPOTENCY_TTL_MS = 48 * 3600_000;

/**
 * The room's own SQLite: the room snapshot, members, bans, the durable event log (`seq` is its primary key,
 * so order is total and gap-free), message rows, idempotency keys, the D1 outbox and read markers.
 * The outbox is keyed by the seq of the event that changed a message, so a change to a message older than the
 * hot log (kept in `messages` until flushed) reaches D1 like a new one. Every method is synchronous: the Durable
 * Object's single thread makes each one atomic.
 */
export class RoomStore {
  /** The attached rows, held in memory once read: fan-out reads them every flush and attaching every subscribe. */
  private attachedCache: Map<string, { profile: Profile; live: boolean }> | undefined;
  private visitors: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    /** Events kept in the room's own log once they are in D1 (`Limits.hotEvents`). */
    private readonly hotEvents: number = HOT_EVENTS,
  ) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS room (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS members (
        user_id TEXT PRIMARY KEY, role TEXT NOT NULL, joined_at TEXT NOT NULL, name TEXT, avatar TEXT);
      CREATE TABLE IF NOT EXISTS bans (user_id TEXT PRIMARY KEY, at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, json TEXT);
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sender_id TEXT NOT NULL, recipient_id TEXT,
        json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS idempotency (
        sender_id TEXT NOT NULL, temp_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
        created_at TEXT NOT NULL, stored_at INTEGER NOT NULL, PRIMARY KEY (sender_id, temp_id));
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (stored_at);
      CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER NOT NULL, message_seq INTEGER NOT NULL, change TEXT NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (seq, message_seq));
      CREATE TABLE IF NOT EXISTS feed_entries (
        message_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (message_id, user_id));
      CREATE TABLE IF NOT EXISTS pending_notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, dirty INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS visitors (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS attached (
        user_id TEXT PRIMARY KEY, name TEXT, avatar TEXT, live INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS typing (user_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, json TEXT NOT NULL);
    `);
    // Rooms from before the lifecycle kept an outbox of posted seqs only: those rows are posts.
    if (
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").toArray().length > 0
    ) {
      sql.exec(`INSERT OR IGNORE INTO changes (seq, message_seq, change, at)
        SELECT o.seq, o.seq, 'post', json_extract(m.json, '$.created_at') FROM outbox o JOIN messages m ON m.seq = o.seq`);
      sql.exec("DROP TABLE outbox");
    }
  }

  /** Forgets everything about the room (it was deleted); the key may be created again. */
  wipe(): void {
    for (const table of [
      "room",
      "members",
      "bans",
      "events",
      "messages",
      "idempotency",
      "meta",
      "changes",
      "pending_notifications",
      "feed_entries",
      "reads",
      "visitors",
      "attached",
      "typing",
    ]) {
      this.sql.exec(`DELETE FROM ${table}`);
    }
    this.attachedCache = new Map();
    this.visitors = 0;
  }

  room(): Room | null {
    const row = this.sql.exec<{ json: string }>("SELECT json FROM room").toArray()[0];
    return row ? (JSON.parse(row.json) as Room) : null;
  }

  saveRoom(room: Room): void {
    this.sql.exec("INSERT OR REPLACE INTO room (id, json) VALUES (1, ?)", JSON.stringify(room));
  }

  head(): number {
    return this.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one().seq ?? 0;
  }

  /** Members with the name and avatar known when they joined, for room views. */
  memberProfiles(): (Member & { name: string | null; avatar: string | null })[] {
    return this.sql
      .exec<{ user_id: string; role: Role; joined_at: string; name: string | null; avatar: string | null }>(
        "SELECT user_id, role, joined_at, name, avatar FROM members ORDER BY joined_at, user_id",
      )
      .toArray();
  }

  members(): Member[] {
    return this.sql
      .exec<{ user_id: string; role: Role; joined_at: string }>(
        "SELECT user_id, role, joined_at FROM members ORDER BY joined_at, user_id",
      )
      .toArray();
  }

  putMember(profile: Profile, role: Role, joinedAt: string): Member {
    this.sql.exec(
      `INSERT INTO members (user_id, role, joined_at, name, avatar) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET role = excluded.role`,
      profile.id,
      role,
      joinedAt,
      profile.name,
      profile.avatar,
    );
    return this.sql
      .exec<{ user_id: string; role: Role; joined_at: string }>(
        "SELECT user_id, role, joined_at FROM members WHERE user_id = ?",
        profile.id,
      )
      .one();
  }

  deleteMember(userId: string): void {
    this.sql.exec("DELETE FROM members WHERE user_id = ?", userId);
  }

  bannedIds(): string[] {
    return this.sql
      .exec<{ user_id: string }>("SELECT user_id FROM bans")
      .toArray()
      .map((r) => r.user_id);
  }

  setBanned(userId: string, banned: boolean, at: string): void {
    if (banned) this.sql.exec("INSERT OR REPLACE INTO bans (user_id, at) VALUES (?, ?)", userId, at);
    else this.sql.exec("DELETE FROM bans WHERE user_id = ?", userId);
  }

  /** Appends a non-message durable event at the next sequence number. */
  appendEvent<E extends Exclude<DurableEvent, { type: "message" }>>(make: (seq: number) => E): E {
    const event = make(this.head() + 1);
    this.sql.exec(
      "INSERT INTO events (seq, type, json) VALUES (?, ?, ?)",
      event.seq,
      event.type,
      JSON.stringify(event),
    );
    return event;
  }

  /** The earlier result for this sender's temp id, if it is still remembered. */
  findByTempId(senderId: string, tempId: string): { id: string; seq: number; created_at: string } | null {
    return (
      this.sql
        .exec<{ id: string; seq: number; created_at: string }>(
          "SELECT id, seq, created_at FROM idempotency WHERE sender_id = ? AND temp_id = ?",
          senderId,
          tempId,
        )
        .toArray()[0] ?? null
    );
  }

  /** Stores a message, its event, its idempotency key and its outbox entry at the next sequence number. */
  appendMessage(make: (seq: number) => Message, now: number): Message {
    const message = make(this.head() + 1);
    this.sql.exec("INSERT INTO events (seq, type, json) VALUES (?, 'message', NULL)", message.seq);
    this.sql.exec(
      "INSERT INTO messages (seq, id, sender_id, recipient_id, json) VALUES (?, ?, ?, ?, ?)",
      message.seq,
      message.id,
      message.sender.id,
      message.to,
      JSON.stringify(message),
    );
    if (message.temp_id) {
      this.sql.exec(
        "INSERT INTO idempotency (sender_id, temp_id, seq, id, created_at, stored_at) VALUES (?, ?, ?, ?, ?, ?)",
        message.sender.id,
        message.temp_id,
        message.seq,
        message.id,
        message.created_at,
        now,
      );
    }
    this.sql.exec(
      "INSERT INTO changes (seq, message_seq, change, at) VALUES (?, ?, 'post', ?)",
      message.seq,
      message.seq,
      message.created_at,
    );
    return message;
  }

  /**
   * Keeps a message's new state (`changed_seq` is the changing event's seq) and queues it for D1. A message older
   * than the hot log is kept here again until flushed, so the room reads its newest state, not D1's.
   */
  changeMessage(message: Message, change: Exclude<RowChange, "post">, at: string): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO messages (seq, id, sender_id, recipient_id, json) VALUES (?, ?, ?, ?, ?)",
      message.seq,
      message.id,
      message.sender.id,
      message.to,
      JSON.stringify(message),
    );
    this.sql.exec(
      "INSERT OR REPLACE INTO changes (seq, message_seq, change, at) VALUES (?, ?, ?, ?)",
      message.changed_seq,
      message.seq,
      change,
      at,
    );
  }

  /** A message the room still holds, by id or seq, whatever its visibility (the caller applies `targetOf`). */
  findMessage(ref: { id: string } | { seq: number }): Message | null {
    const row = (
      "id" in ref
        ? this.sql.exec<{ json: string }>("SELECT json FROM messages WHERE id = ?", ref.id)
        : this.sql.exec<{ json: string }>("SELECT json FROM messages WHERE seq = ?", ref.seq)
    ).toArray()[0];
    return row ? withLifecycleDefaults(JSON.parse(row.json) as Message) : null;
  }

  /**
   * Queues feed entries for their users' objects (delivered by the notifications job, batched per user), and
   * remembers whose feed holds which message: an edit or deletion of it must reach those users even offline.
   */
  queueNotifications(drafts: readonly NotificationDraft[]): void {
    for (const draft of drafts) {
      this.sql.exec(
        "INSERT INTO pending_notifications (user_id, json) VALUES (?, ?)",
        draft.user_id,
        JSON.stringify(draft),
      );
      if (draft.message_id !== null)
        this.sql.exec(
          "INSERT OR IGNORE INTO feed_entries (message_id, user_id) VALUES (?, ?)",
          draft.message_id,
          draft.user_id,
        );
    }
  }

  /** The users whose notification feed holds an entry for each of these messages. */
  feedHolders(messageIds: readonly string[]): Map<string, Set<string>> {
    const holders = new Map<string, Set<string>>();
    for (const id of new Set(messageIds)) {
      const users = this.sql
        .exec<{ user_id: string }>("SELECT user_id FROM feed_entries WHERE message_id = ?", id)
        .toArray()
        .map((r) => r.user_id);
      if (users.length > 0) holders.set(id, new Set(users));
    }
    return holders;
  }

  pendingNotifications(limit: number): { id: number; draft: NotificationDraft }[] {
    return this.sql
      .exec<{ id: number; json: string }>(
        "SELECT id, json FROM pending_notifications ORDER BY id LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, draft: JSON.parse(r.json) as NotificationDraft }));
  }

  notificationsDelivered(ids: readonly number[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM pending_notifications WHERE id = ?", id);
  }

  /** The oldest sequence number the log still holds (head + 1 when empty). */
  floor(): number {
    const row = this.sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM events").one();
    return row.seq ?? this.head() + 1;
  }

  /** Durable events after `since`, oldest first. */
  eventsAfter(since: number, limit: number): DurableEvent[] {
    return this.sql
      .exec<{ seq: number; type: string; json: string | null; message: string | null }>(
        `SELECT e.seq, e.type, e.json, m.json AS message FROM events e LEFT JOIN messages m ON m.seq = e.seq
         WHERE e.seq > ? ORDER BY e.seq LIMIT ?`,
        since,
        limit,
      )
      .toArray()
      .map((row) => this.toEvent(row));
  }

  private toEvent(row: {
    seq: number;
    type: string;
    json: string | null;
    message: string | null;
  }): DurableEvent {
    if (row.type === "message") {
      const message = withLifecycleDefaults(JSON.parse(row.message ?? "null") as Message);
      return { type: "message", room: message.room, seq: row.seq, at: message.created_at, message };
    }
    return JSON.parse(row.json ?? "null") as DurableEvent;
  }

  /** Messages in a seq range visible to `userId`; `newestFirst` walks backwards from `before`. */
  messages(userId: string, after: number, before: number, limit: number, newestFirst: boolean): Message[] {
    return this.sql
      .exec<{ json: string }>(
        `SELECT json FROM messages WHERE seq > ? AND seq < ?
           AND (recipient_id IS NULL OR recipient_id = ? OR sender_id = ?)
         ORDER BY seq ${newestFirst ? "DESC" : "ASC"} LIMIT ?`,
        after,
        before,
        userId,
        userId,
        limit,
      )
      .toArray()
      .map((r) => withLifecycleDefaults(JSON.parse(r.json) as Message));
  }

  /** The first message at or above `floor` created at or after `at` (ISO time), or null. */
  firstSeqAtOrAfter(floor: number, at: string): number | null {
    return this.sql
      .exec<{ seq: number | null }>(
        "SELECT MIN(seq) AS seq FROM messages WHERE seq >= ? AND json_extract(json, '$.created_at') >= ?",
        floor,
        at,
      )
      .one().seq;
  }

  /** Others' visible message seqs in (from, to] for a read receipt. */
  othersMessageSeqs(userId: string, from: number, to: number, limit: number): number[] {
    return this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM messages WHERE seq > ? AND seq <= ? AND sender_id != ?
           AND (recipient_id IS NULL OR recipient_id = ?) ORDER BY seq DESC LIMIT ?`,
        from,
        to,
        userId,
        userId,
        limit,
      )
      .toArray()
      .map((r) => r.seq)
      .reverse();
  }

  readMarker(userId: string): number {
    return (
      this.sql.exec<{ seq: number }>("SELECT seq FROM reads WHERE user_id = ?", userId).toArray()[0]?.seq ?? 0
    );
  }

  readMarkers(): Map<string, number> {
    return new Map(
      this.sql
        .exec<{ user_id: string; seq: number }>("SELECT user_id, seq FROM reads")
        .toArray()
        .map((r) => [r.user_id, r.seq]),
    );
  }

  setReadMarker(userId: string, seq: number): void {
    this.sql.exec(
      "INSERT INTO reads (user_id, seq, dirty) VALUES (?, ?, 1) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, dirty = 1",
      userId,
      seq,
    );
  }

  /**
   * What the next D1 flush must write: the oldest outbox rows (each message once, in its newest state with its
   * newest change), the rows taken (`keys`, to mark flushed), and changed read markers.
   */
  pendingFlush(limit: number): {
    changes: ChangedMessage[];
    keys: OutboxKey[];
    reads: { user_id: string; seq: number }[];
  } {
    const rows = this.sql
      .exec<{ seq: number; message_seq: number; change: RowChange; at: string; json: string | null }>(
        `SELECT c.seq, c.message_seq, c.change, c.at, m.json FROM changes c LEFT JOIN messages m ON m.seq = c.message_seq
         ORDER BY c.seq, c.message_seq LIMIT ?`,
        limit,
      )
      .toArray();
    const newest = new Map<number, ChangedMessage>();
    for (const r of rows) {
      if (r.json === null || newest.has(r.message_seq)) continue;
      const message = withLifecycleDefaults(JSON.parse(r.json) as Message);
      // The message is in its newest state: label it with its newest change, which may be outside this page.
      const last =
        this.sql
          .exec<{ change: RowChange; at: string }>(
            "SELECT change, at FROM changes WHERE seq = ? AND message_seq = ?",
            message.changed_seq,
            message.seq,
          )
          .toArray()[0] ?? r;
      newest.set(r.message_seq, { message, change: last.change, at: last.at });
    }
    const reads = this.sql
      .exec<{ user_id: string; seq: number }>("SELECT user_id, seq FROM reads WHERE dirty = 1 LIMIT ?", limit)
      .toArray();
    return {
      changes: [...newest.values()],
      keys: rows.map(({ seq, message_seq }) => ({ seq, message_seq })),
      reads,
    };
  }

  /** Marks flushed rows clean: the outbox rows taken, and read markers unless they moved again during the flush. */
  flushed(keys: readonly OutboxKey[], reads: { user_id: string; seq: number }[]): void {
    for (const k of keys)
      this.sql.exec("DELETE FROM changes WHERE seq = ? AND message_seq = ?", k.seq, k.message_seq);
    for (const r of reads)
      this.sql.exec("UPDATE reads SET dirty = 0 WHERE user_id = ? AND seq = ?", r.user_id, r.seq);
  }

  hasPendingFlush(): boolean {
    return (
      this.sql.exec("SELECT 1 FROM changes LIMIT 1").toArray().length > 0 ||
      this.sql.exec("SELECT 1 FROM reads WHERE dirty = 1 LIMIT 1").toArray().length > 0
    );
  }

  /** Forgets old idempotency keys and log rows already in D1 beyond the hot window. */
  prune(now: number): void {
    this.sql.exec("DELETE FROM idempotency WHERE stored_at < ?", now - IDEMPOTENCY_TTL_MS);
    const keepFrom = this.head() - this.hotEvents;
    if (keepFrom <= 0) return;
    const unflushed =
      this.sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM changes").one().seq ??
      Number.POSITIVE_INFINITY;
    const cut = Math.min(keepFrom, unflushed);
    this.sql.exec("DELETE FROM events WHERE seq < ?", cut);
    this.sql.exec("DELETE FROM messages WHERE seq < ? AND seq NOT IN (SELECT message_seq FROM changes)", cut);
  }

  /** The hot window, for reads that walk the log. */
  get hotWindow(): number {
    return this.hotEvents;
  }

  /** A named counter kept with the room (e.g. how far offline members have been notified). */
  counter(name: string): number {
    return this.sql.exec<{ v: number }>("SELECT v FROM meta WHERE k = ?", name).toArray()[0]?.v ?? 0;
  }

  setCounter(name: string, value: number): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", name, value);
  }

  /** Records a user as having joined (for `total_user_count`); returns the distinct count. */
  visit(userId: string): number {
    const known = this.visitors;
    // RETURNING, not rowsWritten: that also counts the primary key's index entry.
    const added = this.sql
      .exec("INSERT OR IGNORE INTO visitors (user_id) VALUES (?) RETURNING user_id", userId)
      .toArray().length;
    if (known === undefined) return this.visitorCount();
    this.visitors = known + added;
    return this.visitors;
  }

  /** Counted once, then kept: every subscribe announces it, and counting per subscribe made the ramp quadratic. */
  visitorCount(): number {
    this.visitors ??= this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM visitors").one().n;
    return this.visitors;
  }

  /** UserDOs registered for this room's events; `live` ones have a session subscribed (they count as present). */
  attachedUsers(): Iterable<{ profile: Profile; live: boolean }> {
    return this.attached().values();
  }

  attachment(userId: string): { profile: Profile; live: boolean } | undefined {
    return this.attached().get(userId);
  }

  private attached(): Map<string, { profile: Profile; live: boolean }> {
    this.attachedCache ??= new Map(
      this.sql
        .exec<{ id: string; name: string | null; avatar: string | null; live: number }>(
          "SELECT user_id AS id, name, avatar, live FROM attached",
        )
        .toArray()
        .map(({ live, ...profile }) => [profile.id, { profile, live: live === 1 }]),
    );
    return this.attachedCache;
  }

  attach(profile: Profile, live: boolean): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO attached (user_id, name, avatar, live) VALUES (?, ?, ?, ?)",
      profile.id,
      profile.name,
      profile.avatar,
      live ? 1 : 0,
    );
    this.attached().set(profile.id, {
      profile: { id: profile.id, name: profile.name, avatar: profile.avatar },
      live,
    });
  }

  detach(userId: string): boolean {
    this.attached().delete(userId);
    return this.sql.exec("DELETE FROM attached WHERE user_id = ?", userId).rowsWritten > 0;
  }

  setTyping(profile: Profile, expiresAt: number | null): boolean {
    if (expiresAt === null)
      return this.sql.exec("DELETE FROM typing WHERE user_id = ?", profile.id).rowsWritten > 0;
    this.sql.exec(
      "INSERT OR REPLACE INTO typing (user_id, expires_at, json) VALUES (?, ?, ?)",
      profile.id,
      expiresAt,
      JSON.stringify(profile),
    );
    return true;
  }

  /** Removes and returns the typists whose indicator has expired. */
  expireTyping(now: number): Profile[] {
    const rows = this.sql
      .exec<{ json: string }>("DELETE FROM typing WHERE expires_at <= ? RETURNING json", now)
      .toArray();
    return rows.map((r) => JSON.parse(r.json) as Profile);
  }

  nextTypingExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM typing").one().at;
  }
}

/** Messages stored before the lifecycle lack its fields: they read as never edited, threaded, reacted or pinned. */
export function withLifecycleDefaults(message: Message): Message {
  return {
    ...message,
    edited_at: message.edited_at ?? null,
    deleted_at: message.deleted_at ?? null,
    version: message.version ?? 1,
    changed_seq: message.changed_seq ?? message.seq,
    thread: message.thread ?? null,
    reactions: message.reactions ?? [],
    pinned_at: message.pinned_at ?? null,
    mentions: message.mentions ?? [],
    mentions_room: message.mentions_room ?? false,
  };
}
