import type { Device } from "./fcm";

/** D1 access for the push pipeline: devices (read and cleanup only), the delivery ledger, dead letters. */

export async function devicesOf(db: D1Database, userId: string): Promise<Device[]> {
  const { results } = await db
    .prepare("SELECT token, platform FROM devices WHERE user_id = ? ORDER BY created_at")
    .bind(userId)
    .all<Device>();
  return results;
}

/** A dead token is dead for whoever holds it, so the row goes whichever user it moved to meanwhile. */
export async function deleteDevice(db: D1Database, token: string): Promise<void> {
  await db.prepare("DELETE FROM devices WHERE token = ?").bind(token).run();
}

/** Targets of `jobId` that already have their final answer. */
export async function finishedTargets(db: D1Database, jobId: string): Promise<Set<string>> {
  const { results } = await db
    .prepare("SELECT target FROM push_deliveries WHERE job_id = ?")
    .bind(jobId)
    .all<{ target: string }>();
  return new Set(results.map((r) => r.target));
}

export async function recordDelivery(
  db: D1Database,
  jobId: string,
  target: string,
  outcome: "sent" | "rejected",
  now: number,
): Promise<void> {
  await db
    .prepare(
      "INSERT OR IGNORE INTO push_deliveries (job_id, target, outcome, delivered_at) VALUES (?, ?, ?, ?)",
    )
    .bind(jobId, target, outcome, new Date(now).toISOString())
    .run();
}

/** Deletes ledger rows older than `before` (epoch ms), a bounded number per call. */
export async function pruneDeliveries(db: D1Database, before: number, limit = 1000): Promise<number> {
  const result = await db
    .prepare(
      "DELETE FROM push_deliveries WHERE rowid IN (SELECT rowid FROM push_deliveries WHERE delivered_at < ? LIMIT ?)",
    )
    .bind(new Date(before).toISOString(), limit)
    .run();
  return result.meta.changes;
}

export interface DeadLetter {
  message_id: string;
  job_id: string | null;
  kind: string | null;
  body: string;
  dead_lettered_at: string;
}

export async function storeDeadLetter(db: D1Database, letter: DeadLetter): Promise<void> {
  await db
    .prepare(
      "INSERT OR REPLACE INTO push_dead_letters (message_id, job_id, kind, body, dead_lettered_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(letter.message_id, letter.job_id, letter.kind, letter.body, letter.dead_lettered_at)
    .run();
}

export async function oldestDeadLetters(db: D1Database, limit: number): Promise<DeadLetter[]> {
  const { results } = await db
    .prepare("SELECT * FROM push_dead_letters ORDER BY dead_lettered_at, message_id LIMIT ?")
    .bind(limit)
    .all<DeadLetter>();
  return results;
}

export async function deleteDeadLetter(db: D1Database, messageId: string): Promise<void> {
  await db.prepare("DELETE FROM push_dead_letters WHERE message_id = ?").bind(messageId).run();
}
