import type { Profile, RoomBrief } from "../domain/model";
import { emptyPushState, type PushState } from "../push/decision";
import type { KeptSessions } from "../sessions/socket-object";

/** Closed sessions kept for resumption per user; the oldest go first beyond this (one per device is typical). */
const MAX_KEPT_SESSIONS = 20;

/** User events kept for an offline user, at most. */
export const MAILBOX_CAP = 200;

/**
 * The user's own SQLite: profile and last-seen, who watches this user's presence and whom they watch, the rooms
 * delivering to this object, the threads they take part in, the push decision state and mail kept for the next
 * connection. Unread and mention counts are not stored: the object keeps them in memory, from the summary each
 * room returns on attach (the `unread`, `mentions` and `last_message` tables of earlier versions are dropped).
 */
export class UserStore implements KeptSessions {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS profile (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, last_seen TEXT);
      CREATE TABLE IF NOT EXISTS watchers (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS watching (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS attached (room TEXT PRIMARY KEY);
      DROP TABLE IF EXISTS unread;
      DROP TABLE IF EXISTS last_message;
      DROP TABLE IF EXISTS mentions;
      CREATE TABLE IF NOT EXISTS push_state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS briefs (room TEXT PRIMARY KEY, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS kept_sessions (
        sid TEXT PRIMARY KEY, dialect TEXT NOT NULL, state TEXT NOT NULL, until INTEGER NOT NULL
      );
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

  /** The user lost the room: its threads and brief go. */
  forgetRoom(room: string): void {
    for (const table of ["threads", "attached", "briefs"])
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

  keep(sid: string, dialect: string, state: unknown, until: number): void {
    this.sql.exec("DELETE FROM kept_sessions WHERE until < ?", Date.now());
    this.sql.exec(
      "INSERT OR REPLACE INTO kept_sessions (sid, dialect, state, until) VALUES (?, ?, ?, ?)",
      sid,
      dialect,
      JSON.stringify(state),
      until,
    );
    this.sql.exec(
      `DELETE FROM kept_sessions WHERE sid NOT IN
         (SELECT sid FROM kept_sessions ORDER BY until DESC LIMIT ${MAX_KEPT_SESSIONS})`,
    );
  }

  take(sid: string, dialect: string, now: number): unknown {
    const row = this.sql
      .exec<{ dialect: string; state: string; until: number }>(
        "SELECT dialect, state, until FROM kept_sessions WHERE sid = ?",
        sid,
      )
      .toArray()[0];
    if (!row) return undefined;
    this.sql.exec("DELETE FROM kept_sessions WHERE sid = ?", sid);
    return row.dialect === dialect && row.until >= now ? (JSON.parse(row.state) as unknown) : undefined;
  }

  private column(query: string): string[] {
    return this.sql
      .exec<{ v: string }>(query)
      .toArray()
      .map((r) => r.v);
  }
}
