import type { Message, Profile, RoomBrief } from "../domain/model";
import { emptyPushState, type PushState } from "../push/decision";
import type { KeptSessions } from "../sessions/socket-object";

/** Closed sessions kept for resumption per user; the oldest go first beyond this (one per device is typical). */
const MAX_KEPT_SESSIONS = 20;

/**
 * The user's own SQLite: profile and last-seen, who watches this user's presence and whom they watch, the rooms
 * delivering to this object, and unread messages per room (for inbox updates).
 */
export class UserStore implements KeptSessions {
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
      CREATE TABLE IF NOT EXISTS kept_sessions (
        sid TEXT PRIMARY KEY, dialect TEXT NOT NULL, state TEXT NOT NULL, until INTEGER NOT NULL
      );
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
  }

  totalUnread(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM unread").one().n;
  }

  inbox(room: string): { unread: number; last_message: Message | null } {
    const unread = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM unread WHERE room = ?", room)
      .one().n;
    const last = this.sql
      .exec<{ json: string }>("SELECT json FROM last_message WHERE room = ?", room)
      .toArray()[0];
    return { unread, last_message: last ? (JSON.parse(last.json) as Message) : null };
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
