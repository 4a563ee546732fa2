import type { Profile } from "../domain/model";

/** D1 rows the Worker writes itself: user profiles, their push switch, and push devices. */

export interface UserRecord extends Profile {
  push_enabled: boolean;
  created_at: string;
  updated_at: string;
}

interface UserRow {
  id: string;
  name: string | null;
  avatar: string | null;
  push_enabled: number;
  created_at: string;
  updated_at: string;
}

const toUser = (row: UserRow): UserRecord => ({ ...row, push_enabled: row.push_enabled === 1 });

export async function findUser(db: D1Database, id: string): Promise<UserRecord | null> {
  const row = await db.prepare("SELECT * FROM users WHERE id = ?").bind(id).first<UserRow>();
  return row ? toUser(row) : null;
}

/** Creates the user or replaces its name and avatar; the push switch is left as it was. */
export async function upsertProfile(db: D1Database, profile: Profile): Promise<UserRecord> {
  const now = new Date().toISOString();
  const row = await db
    .prepare(
      `INSERT INTO users (id, name, avatar, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, avatar = excluded.avatar, updated_at = excluded.updated_at
       RETURNING *`,
    )
    .bind(profile.id, profile.name, profile.avatar, now, now)
    .first<UserRow>();
  if (!row) throw new Error("user upsert returned no row");
  return toUser(row);
}

/** Sets the push switch, creating the user from `profile` when it has no row yet. */
export async function setPushEnabled(
  db: D1Database,
  profile: Profile,
  enabled: boolean,
): Promise<UserRecord> {
  const now = new Date().toISOString();
  const row = await db
    .prepare(
      `INSERT INTO users (id, name, avatar, push_enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET push_enabled = excluded.push_enabled, updated_at = excluded.updated_at
       RETURNING *`,
    )
    .bind(profile.id, profile.name, profile.avatar, enabled ? 1 : 0, now, now)
    .first<UserRow>();
  if (!row) throw new Error("push switch upsert returned no row");
  return toUser(row);
}

/** Profiles of the given users in the given order; users without a row get a profile with no name or avatar. */
export async function profilesOf(db: D1Database, ids: string[]): Promise<Profile[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare("SELECT id, name, avatar FROM users WHERE id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(ids))
    .all<Profile>();
  const known = new Map(results.map((p) => [p.id, p]));
  return ids.map((id) => known.get(id) ?? { id, name: null, avatar: null });
}

export type Platform = "android" | "ios";

export interface Device {
  token: string;
  platform: Platform;
  created_at: string;
  updated_at: string;
}

/** Registers a push token for the user; a token registered before by anyone now belongs to this user only. */
export async function registerDevice(
  db: D1Database,
  userId: string,
  platform: Platform,
  token: string,
): Promise<Device> {
  const now = new Date().toISOString();
  const row = await db
    .prepare(
      `INSERT INTO devices (token, user_id, platform, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform,
         created_at = CASE WHEN user_id = excluded.user_id THEN created_at ELSE excluded.created_at END,
         updated_at = excluded.updated_at
       RETURNING token, platform, created_at, updated_at`,
    )
    .bind(token, userId, platform, now, now)
    .first<Device>();
  if (!row) throw new Error("device upsert returned no row");
  return row;
}

export async function listDevices(db: D1Database, userId: string): Promise<Device[]> {
  const { results } = await db
    .prepare(
      "SELECT token, platform, created_at, updated_at FROM devices WHERE user_id = ? ORDER BY created_at, token",
    )
    .bind(userId)
    .all<Device>();
  return results;
}

/** Removes one of the user's devices; false when the user has no such device. */
export async function removeDevice(db: D1Database, userId: string, token: string): Promise<boolean> {
  const result = await db
    .prepare("DELETE FROM devices WHERE token = ? AND user_id = ?")
    .bind(token, userId)
    .run();
  return result.meta.changes > 0;
}
