import type { Profile, RoomBrief } from "../domain/model";
import { emptyPushState, type PushState } from "../push/decision";

/**
 * The user's own SQLite: profile and last-seen, who watches this user's presence and whom they watch, the rooms
 * delivering to this object, and the push decision state. Unread is not stored: the object keeps it in memory,
 * from the summary each room returns on attach (the `unread` and `last_message` tables of earlier versions are
 * dropped).
 */
export class UserStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS profile (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, last_seen TEXT);
      CREATE TABLE IF NOT EXISTS watchers (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS watching (user_id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS attached (room TEXT PRIMARY KEY);
      DROP TABLE IF EXISTS unread;
      DROP TABLE IF EXISTS last_message;
      CREATE TABLE IF NOT EXISTS push_state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS briefs (room TEXT PRIMARY KEY, json TEXT NOT NULL);
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
