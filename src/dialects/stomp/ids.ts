/**
 * Gossip `message_id`s. The seed shows a numeric string (`"1679786302000000000"`, unix time in nanoseconds) and
 * its SDKs may read it as a signed 64-bit long, so every id is 19 digits: the event's unix time in milliseconds
 * (13 digits from 2001 to 2286, and under the long's limit until 2262) followed by a 6-digit suffix. Suffixes
 * below `EPHEMERAL_SUFFIX_BASE` are stored messages', the others JOIN/LEAVE's, so the two kinds never meet.
 */
const SUFFIX_DIGITS = 6;
export const EPHEMERAL_SUFFIX_BASE = 500_000;

const numericId = (at: string, suffix: number) =>
  `${Date.parse(at)}${String(suffix).padStart(SUFFIX_DIGITS, "0")}`;

/**
 * A stored message's id: its `created_at` in ms, then its seq modulo 500,000. Both are stored with the message,
 * so the id is the same on every socket, on a resend answered as a duplicate, and on a resume. Two messages of
 * one room share it only if 500,000 of them were created in the same millisecond.
 */
export const stompMessageId = (createdAt: string, seq: number): string =>
  numericId(createdAt, seq % EPHEMERAL_SUFFIX_BASE);

/**
 * A JOIN or LEAVE id: they are never stored, so the event's time in ms, then 500,000 plus the session's count of
 * JOIN/LEAVE events so far (modulo 500,000): unique within the session, which is where a client compares them.
 */
export const stompEphemeralId = (at: string, counter: number): string =>
  numericId(at, EPHEMERAL_SUFFIX_BASE + (counter % EPHEMERAL_SUFFIX_BASE));
