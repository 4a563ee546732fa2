import { v7 as uuidv7 } from "uuid";

export const newMessageId = (): string => uuidv7();

export const newRoomKey = (): string => `r_${uuidv7().replaceAll("-", "")}`;

/** Orders user ids numerically when both are numbers (so `p2p2_10` and `dm:2:10` agree), else by code point. */
export function compareUserIds(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function orderedPair(a: string, b: string): [string, string] {
  return compareUserIds(a, b) <= 0 ? [a, b] : [b, a];
}

/** The one stable key of the direct room between two users, whoever asks first. */
export function directRoomKey(a: string, b: string): string {
  const [low, high] = orderedPair(a, b);
  return `dm:${low}:${high}`;
}

/** The two users of a direct room key, or null when the key is not one. */
export function directRoomUsers(key: string): [string, string] | null {
  const m = /^dm:([^:]+):([^:]+)$/.exec(key);
  return m?.[1] && m[2] ? [m[1], m[2]] : null;
}

/** A room key a client may choose: anything outside the reserved `dm:` space, all digits included (channel keys). */
export const ROOM_KEY_PATTERN = /^(?!dm:)[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The room number an all-digit key claims: a key written as a room number would be (no leading zero, at most
 * 15 digits, the numbers URLs accept) makes its room that number, so `/v1/rooms/{digits}` names one room
 * whether read as a key or as a number. Other keys get the next free number.
 */
export function roomNumberOfKey(key: string): number | null {
  return /^[1-9]\d{0,14}$/.test(key) ? Number(key) : null;
}
