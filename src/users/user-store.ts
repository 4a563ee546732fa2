import type { Message, Profile, RoomBrief } from "../domain/model";
import { emptyPushState, type PushState } from "../push/decision";

/** User events kept for an offline user, at most. */
export const MAILBOX_CAP = 200;

/**
 * The user's own SQLite: profile and last-seen, who watches this user's presence and whom they watch, the rooms
 * delivering to this object, and unread messages per room (for inbox updates).
 */
export class UserStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS profile (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, last_seen TEXT);
      CREATE TABLE IF NOT EXISTS watchers (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS watching (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS attached (room TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS unread (room TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (room, seq));
      CREATE TABLE IF NOT EXISTS last_message (room TEXT PRIMARY KEY, seq INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS push_state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS briefs (room TEXT PRIMARY KEY, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS mentions (room TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (room, seq));
      CREATE TABLE IF NOT EXISTS threads (room TEXT NOT NULL, root_id TEXT NOT NULL, PRIMARY KEY (room, root_id));
      CREATE TABLE IF NOT EXISTS mailbox (ord INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL);
    `);
  }

  profile(): Profile | null {
    const row = this.sql.exec<{ json: string }>("SELECT json FROM profile").toArray()[0];
    return row ? (JSON.parse(row.json) as Profile) : null;
  }

  saveProfile(profile: Profile): void {
    this.sql.exec(
      "INSERT INTO profile (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
      JSON.stringify(profile),
    );
  }

  lastSeen(): string | null {
    return (
      this.sql.exec<{ last_seen: string | null }>("SELECT last_seen FROM profile").toArray()[0]?.last_seen ??
      null
    );
  }

  setLastSeen(at: string | null): void {
    this.sql.exec("UPDATE profile SET last_seen = ?", at);
  }

  watchers(): string[] {
    return this.column("SELECT user_id AS v FROM watchers");
  }

  addWatcher(userId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO watchers (user_id) VALUES (?)", userId);
  }

  removeWatcher(userId: string): void {
    this.sql.exec("DELETE FROM watchers WHERE user_id = ?", userId);
  }

  watching(): string[] {
    return this.column("SELECT user_id AS v FROM watching");
  }

  startWatching(userId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO watching (user_id) VALUES (?)", userId);
  }

  stopWatching(userId: string): void {
    this.sql.exec("DELETE FROM watching WHERE user_id = ?", userId);
  }

  attachedRooms(): string[] {
    return this.column("SELECT room AS v FROM attached");
  }

  markAttached(room: string): void {
    this.sql.exec("INSERT OR IGNORE INTO attached (room) VALUES (?)", room);
  }

  /** What this object learned of its rooms (number, kind, epoch), for dialects that name rooms by number. */
  briefs(): Map<string, RoomBrief> {
    return new Map(
      this.sql
        .exec<{ room: string; json: string }>("SELECT room, json FROM briefs")
        .toArray()
        .map((r) => [r.room, JSON.parse(r.json) as RoomBrief]),
    );
  }

  saveBrief(brief: RoomBrief): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO briefs (room, json) VALUES (?, ?)",
      brief.key,
      JSON.stringify(brief),
    );
  }

  clearAttached(): void {
    this.sql.exec("DELETE FROM attached");
  }

  /** Others' new messages in one room: one insert per 50 messages and one last-message upsert per call. */
  addUnread(room: string, messages: Message[]): void {
    for (let i = 0; i < messages.length; i += 50) {
      const chunk = messages.slice(i, i + 50);
      this.sql.exec(
        `INSERT OR IGNORE INTO unread (room, seq) VALUES ${chunk.map(() => "(?, ?)").join(", ")}`,
        ...chunk.flatMap((m) => [room, m.seq]),
      );
    }
    const newest = messages.reduce<Message | null>((a, m) => (a === null || m.seq > a.seq ? m : a), null);
    if (!newest) return;
    this.sql.exec(
      `INSERT INTO last_message (room, seq, json) VALUES (?, ?, ?)
       ON CONFLICT (room) DO UPDATE SET seq = excluded.seq, json = excluded.json WHERE excluded.seq > last_message.seq`,
      room,
      newest.seq,
      JSON.stringify(newest),
    );
  }

  readUpTo(room: string, seq: number): void {
    this.sql.exec("DELETE FROM unread WHERE room = ? AND seq <= ?", room, seq);
    this.sql.exec("DELETE FROM mentions WHERE room = ? AND seq <= ?", room, seq);
  }

  /** Others' unread messages that mention the user (a count kept apart from unread). */
  addMentions(room: string, seqs: readonly number[]): void {
    for (const seq of seqs)
      this.sql.exec("INSERT OR IGNORE INTO mentions (room, seq) VALUES (?, ?)", room, seq);
  }

  /** A message was deleted: it no longer counts, and the inbox shows `lastMessage` (the tombstone if it was last). */
  forgetUnread(room: string, seq: number, lastMessage: Message | null): void {
    this.sql.exec("DELETE FROM unread WHERE room = ? AND seq = ?", room, seq);
    this.sql.exec("DELETE FROM mentions WHERE room = ? AND seq = ?", room, seq);
    if (lastMessage) this.replaceLastMessage(room, lastMessage);
  }

  /** The inbox's last message in a newer state (edited, deleted), when it is that message. */
  replaceLastMessage(room: string, message: Message): void {
    this.sql.exec(
      "UPDATE last_message SET json = ? WHERE room = ? AND seq = ?",
      JSON.stringify(message),
      room,
      message.seq,
    );
  }

  /** The user lost the room: its counters, threads and brief go. */
  forgetRoom(room: string): void {
    for (const table of ["unread", "mentions", "last_message", "threads", "attached", "briefs"])
      this.sql.exec(`DELETE FROM ${table} WHERE room = ?`, room);
  }

  /** A thread the user started or replied to (the "threads" follow scope). */
  joinThread(room: string, rootId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO threads (room, root_id) VALUES (?, ?)", room, rootId);
  }

  inThread(room: string, rootId: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM threads WHERE room = ? AND root_id = ?", room, rootId).toArray().length > 0
    );
  }

  /** Keeps a user event for the next connection; the oldest go beyond `MAILBOX_CAP`. */
  mail(event: unknown): void {
    this.sql.exec("INSERT INTO mailbox (json) VALUES (?)", JSON.stringify(event));
    this.sql.exec(
      "DELETE FROM mailbox WHERE ord <= (SELECT ord FROM mailbox ORDER BY ord DESC LIMIT 1 OFFSET ?)",
      MAILBOX_CAP,
    );
  }

  /** The kept user events, oldest first, removed from the mailbox. */
  takeMail(): unknown[] {
    return this.sql
      .exec<{ ord: number; json: string }>("DELETE FROM mailbox RETURNING ord, json")
      .toArray()
      .sort((a, b) => a.ord - b.ord)
      .map((r) => JSON.parse(r.json));
  }

  totalUnread(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM unread").one().n;
  }

  inbox(room: string): { unread: number; mentions: number; last_message: Message | null } {
    const unread = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM unread WHERE room = ?", room)
      .one().n;
    const mentions = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM mentions WHERE room = ?", room)
      .one().n;
    const last = this.sql
      .exec<{ json: string }>("SELECT json FROM last_message WHERE room = ?", room)
      .toArray()[0];
    return { unread, mentions, last_message: last ? (JSON.parse(last.json) as Message) : null };
  }

  /** The user this object belongs to, once a caller named it (an object cannot read back the name it was addressed by). */
  owner(): string | null {
    return this.sql.exec<{ user_id: string }>("SELECT user_id FROM owner").toArray()[0]?.user_id ?? null;
  }

  setOwner(userId: string): void {
    this.sql.exec("INSERT OR REPLACE INTO owner (id, user_id) VALUES (1, ?)", userId);
  }

  pushState(): PushState {
    const row = this.sql.exec<{ json: string }>("SELECT json FROM push_state").toArray()[0];
    return row ? (JSON.parse(row.json) as PushState) : emptyPushState();
  }

  savePushState(state: PushState): void {
    this.sql.exec("INSERT OR REPLACE INTO push_state (id, json) VALUES (1, ?)", JSON.stringify(state));
  }

  private column(query: string): string[] {
    return this.sql
      .exec<{ v: string }>(query)
      .toArray()
      .map((r) => r.v);
  }
}
