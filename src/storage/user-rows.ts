import type { Profile } from "../domain/model";

/** D1 reads a UserDO needs: which rooms its user belongs to, and facts about other users. */

/** Keys of every room the user is a member of. */
export async function roomKeysOf(db: D1Database, userId: string): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT r.key FROM memberships m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?")
    .bind(userId)
    .all<{ key: string }>();
  return results.map((r) => r.key);
}

export async function roomExists(db: D1Database, key: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS one FROM rooms WHERE key = ?").bind(key).first()) !== null;
}

export async function loadProfile(db: D1Database, userId: string): Promise<Profile | null> {
  return db.prepare("SELECT id, name, avatar FROM users WHERE id = ?").bind(userId).first<Profile>();
}

/** The user's push switch and their mute of one room, if named (defaults: push on, not muted). */
export async function pushPreferences(
  db: D1Database,
  userId: string,
  roomNumber: number | null,
): Promise<{ push_enabled: boolean; muted: boolean }> {
  const row = await db
    .prepare(
      `SELECT (SELECT push_enabled FROM users WHERE id = ?1) AS push_enabled,
              (SELECT muted FROM memberships WHERE room_id = ?2 AND user_id = ?1) AS muted`,
    )
    .bind(userId, roomNumber)
    .first<{ push_enabled: number | null; muted: number | null }>();
  return { push_enabled: (row?.push_enabled ?? 1) === 1, muted: (row?.muted ?? 0) === 1 };
}

/** The members of a room with at least one push device: one query however large the room. */
export async function membersWithDevices(db: D1Database, roomNumber: number): Promise<Set<string>> {
  const { results } = await db
    .prepare(
      `SELECT DISTINCT m.user_id FROM memberships m JOIN devices d ON d.user_id = m.user_id
       WHERE m.room_id = ?`,
    )
    .bind(roomNumber)
    .all<{ user_id: string }>();
  return new Set(results.map((r) => r.user_id));
}
