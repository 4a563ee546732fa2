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
