/**
 * ActionCable clients name messages, threads, rooms and members by number (Rails ids), Parley by key. Rooms
 * have their own `number`; a message is numbered by its room's number and its own `seq`, which is unique within
 * the room, so one number names one message across rooms and maps back to (room, seq) without a lookup.
 */

/** Seqs take the nine low decimal digits: `42000000017` is seq 17 of room 42, readable in logs. */
const SEQ_SPAN = 1_000_000_000;

/** The highest room number whose every message number is a safe integer. */
export const MAX_ROOM_NUMBER = Math.floor(Number.MAX_SAFE_INTEGER / SEQ_SPAN) - 1;
export const MAX_MESSAGE_SEQ = SEQ_SPAN - 1;

/** A message's number on the wire: its room's number and its seq. */
export const messageNumber = (roomNumber: number, seq: number): number => roomNumber * SEQ_SPAN + seq;

export interface MessagePlace {
  roomNumber: number;
  seq: number;
}

/** Where a message number points, or null when it is not one (zero seqs, unsafe or fractional numbers). */
export function placeOfMessage(id: number): MessagePlace | null {
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const seq = id % SEQ_SPAN;
  const roomNumber = (id - seq) / SEQ_SPAN;
  return seq > 0 && roomNumber > 0 && roomNumber <= MAX_ROOM_NUMBER ? { roomNumber, seq } : null;
}

/**
 * A user id as the platform numbers it: Parley's user ids are the token's `sub`, which the community platform
 * sets to its member ids, so numeric ids travel as numbers. Other ids travel as the strings they are.
 */
export function memberNumber(userId: string): number | string {
  if (!/^(0|[1-9]\d{0,15})$/.test(userId)) return userId;
  const n = Number(userId);
  return Number.isSafeInteger(n) ? n : userId;
}
