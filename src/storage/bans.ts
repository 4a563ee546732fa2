import { fail, type Outcome, ok } from "../domain/errors";

/** Service-wide bans (D1 `user_bans`), written by the admin API and read wherever a user authenticates. */

export interface Ban {
  user_id: string;
  reason: string;
  banned_at: string;
}

export async function banUser(db: D1Database, userId: string, reason: string): Promise<Ban> {
  const ban = { user_id: userId, reason, banned_at: new Date().toISOString() };
  await db
    .prepare(
      `INSERT INTO user_bans (user_id, reason, banned_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason`,
    )
    .bind(ban.user_id, ban.reason, ban.banned_at)
    .run();
  return (await banOf(db, userId)) ?? ban;
}

/** Whether there was a ban to lift. */
export async function unbanUser(db: D1Database, userId: string): Promise<boolean> {
  const { meta } = await db.prepare("DELETE FROM user_bans WHERE user_id = ?").bind(userId).run();
  return meta.changes > 0;
}

export function banOf(db: D1Database, userId: string): Promise<Ban | null> {
  return db
    .prepare("SELECT user_id, reason, banned_at FROM user_bans WHERE user_id = ?")
    .bind(userId)
    .first<Ban>();
}

/** How a ban reads to the user: the reason of a 403, or of a 4005 close. */
export const banMessage = (ban: Ban): string => `banned from the service: ${ban.reason}`;

/** A 403 for a banned user, or ok when they are not banned. */
export async function notBanned(db: D1Database, userId: string): Promise<Outcome<null>> {
  const ban = await banOf(db, userId);
  return ban ? fail("forbidden", banMessage(ban)) : ok(null);
}
