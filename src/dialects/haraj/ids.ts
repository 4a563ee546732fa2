import { directRoomKey, directRoomUsers } from "../../domain/ids";

/**
 * Haraj names users by number and a direct room by its topic id `p2p{low}_{high}`. Parley ids are strings,
 * so only all-digit ids take part in topics, and only those that survive a round trip through a JSON number
 * are rendered as numbers.
 */

const DIGITS = /^\d{1,128}$/;
const TOPIC_ID = /^p2p(\d{1,128})_(\d{1,128})$/;

/** A Haraj user id on the wire: a number when the Parley id is a canonical safe integer, else the string. */
export type HarajUserId = number | string;

export function harajUserId(userId: string): HarajUserId {
  if (!/^(0|[1-9]\d*)$/.test(userId)) return userId;
  const n = Number(userId);
  return Number.isSafeInteger(n) ? n : userId;
}

/** The Parley user id a client names: a non-negative safe integer or a string of digits; null otherwise. */
export function parseHarajUserId(value: unknown): string | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  if (typeof value === "string") return DIGITS.test(value) ? value : null;
  return null;
}

/** The topic id of a direct room between two all-digit users; null for any other room. */
export function harajTopicId(roomKey: string): string | null {
  const users = directRoomUsers(roomKey);
  if (!users || !DIGITS.test(users[0]) || !DIGITS.test(users[1])) return null;
  return `p2p${users[0]}_${users[1]}`;
}

/** The two users of a topic id, low first. Null when the text is not the one topic id of their direct room. */
export function harajTopicUsers(topicId: string): [string, string] | null {
  const m = TOPIC_ID.exec(topicId);
  if (!m?.[1] || !m[2]) return null;
  return directRoomKey(m[1], m[2]) === `dm:${m[1]}:${m[2]}` ? [m[1], m[2]] : null;
}

/** The room key of a topic id, or null when it is not one (`p2p2_1` is not: the low id comes first). */
export function harajRoomKey(topicId: string): string | null {
  const users = harajTopicUsers(topicId);
  return users ? directRoomKey(users[0], users[1]) : null;
}
