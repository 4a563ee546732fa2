import type { Message } from "./model";

/**
 * Mentions are decided once, when a message is sent, and kept on it (`mentions`, `mentions_room`): notifications,
 * mention counts and push all read those fields, so an edit never notifies anyone again.
 *
 * - `@<user id>` in the text, followed by the end of the text or a character that is neither a word character
 *   nor `-` (so `@bob,` mentions `bob`); the longest member id that fits wins (`@bob.smith` over `@bob`).
 * - Ids listed in `data.mentions` (clients that resolve display names to ids send that list).
 * - `@room` / `@all` mention everyone, and only when a moderator writes them in a group or live room; from
 *   anyone else they are plain text, not a refusal, since "@all" is common in ordinary prose. These two words are
 *   reserved: a user whose id is `room` or `all` is mentioned through `data.mentions`.
 * Only members of the room count, never the sender; a whisper mentions at most its recipient, who alone sees it.
 */

export const ROOM_MENTION_WORDS: readonly string[] = ["room", "all"];
/** Distinct users one message may mention; further ones stay text. */
export const MAX_MENTIONS = 50;
const MAX_ID_LENGTH = 128;

export interface MentionContext {
  senderId: string;
  isMember: (userId: string) => boolean;
  /** Whether the sender may mention the whole room (`canMentionRoom`). */
  canMentionRoom: boolean;
}

export interface Mentions {
  mentions: string[];
  mentions_room: boolean;
}

/** The mentions a draft makes, in order of first appearance (text first, then `data.mentions`). */
export function extractMentions(
  draft: { text: string; data?: unknown; to?: string | null },
  context: MentionContext,
): Mentions {
  const whisperTo = draft.to ?? null;
  const found = new Set<string>();
  let room = false;
  const consider = (id: string) => {
    if (found.size >= MAX_MENTIONS || id === context.senderId || !context.isMember(id)) return;
    if (whisperTo !== null && id !== whisperTo) return;
    found.add(id);
  };
  for (const token of mentionTokens(draft.text)) {
    const word = wordAt(token);
    if (word !== null && ROOM_MENTION_WORDS.includes(word)) {
      room = room || (context.canMentionRoom && whisperTo === null);
      continue;
    }
    const id = longestMember(token, context.isMember);
    if (id !== null) consider(id);
  }
  const listed = (draft.data as { mentions?: unknown } | null | undefined)?.mentions;
  if (Array.isArray(listed)) {
    for (const id of listed.slice(0, MAX_MENTIONS)) if (typeof id === "string") consider(id);
  }
  return { mentions: [...found], mentions_room: room };
}

/** Whether a message mentions `userId`, by name or through `@room`. */
export function mentions(message: Pick<Message, "mentions" | "mentions_room">, userId: string): boolean {
  return message.mentions_room || message.mentions.includes(userId);
}

/** A member's mentions not yet read: those above their read marker (a count kept apart from unread). */
export const mentionCount = (readSeq: number, mentionSeqs: readonly number[]): number =>
  mentionSeqs.filter((seq) => seq > readSeq).length;

/** The run of non-space characters after each `@` that starts a mention (not inside a word or after `@`). */
function* mentionTokens(text: string): Generator<string> {
  for (const m of text.matchAll(/(?:^|[^\w@])@([^\s@]{1,128})/gu)) if (m[1]) yield m[1];
}

/** The token up to its first character that ends a mention (for `@room`, `@all`). */
function wordAt(token: string): string | null {
  return /^[\w-]+(?![\w-])/.exec(token)?.[0] ?? null;
}

/** The longest prefix of `token` that is a member id and ends where a mention may end. */
function longestMember(token: string, isMember: (id: string) => boolean): string | null {
  for (let end = Math.min(token.length, MAX_ID_LENGTH); end > 0; end--) {
    const next = token[end];
    if (next !== undefined && /[\w-]/.test(next)) continue;
    const candidate = token.slice(0, end);
    if (isMember(candidate)) return candidate;
  }
  return null;
}
