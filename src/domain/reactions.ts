import { normalizeEmoji } from "./emoji";
import { fail, type Outcome, ok } from "./errors";
import { liveTargetOf } from "./lifecycle";
import { type Message, type Profile, REACTOR_PREVIEW, type ReactionSummary } from "./model";

/**
 * Reactions: one per user per emoji per message. Adding one already there, or removing one that is not, is an
 * ok no-op that records no event. Deleted messages take none.
 */

/** Distinct emoji one message may carry (Slack's limit); a new one beyond it is refused, existing ones still count. */
export const MAX_EMOJI_PER_MESSAGE = 50;

/** The message and canonical emoji key a `react` command acts on. */
export function planReaction(
  target: Message | null,
  actorId: string,
  rawEmoji: string,
): Outcome<{ message: Message; emoji: string }> {
  const emoji = normalizeEmoji(rawEmoji);
  if (emoji === null) return fail("bad_request", "a reaction is one emoji or a :shortcode: of a-z 0-9 _ + -");
  const live = liveTargetOf(target, actorId);
  if (!live.ok) return live;
  return ok({ message: live.value, emoji });
}

/** Whether adding `emoji` would exceed the distinct-emoji limit, given the ones the message carries. */
export const exceedsEmojiLimit = (present: readonly string[], emoji: string): boolean =>
  !present.includes(emoji) && present.length >= MAX_EMOJI_PER_MESSAGE;

/** One reaction, in the order reactions were made. */
export interface Reaction {
  emoji: string;
  user: Profile;
}

/** Emoji ordered by their first reaction; each with its count and its first `REACTOR_PREVIEW` reactors. */
export function summarizeReactions(reactions: readonly Reaction[]): ReactionSummary[] {
  const byEmoji = new Map<string, ReactionSummary>();
  for (const { emoji, user } of reactions) {
    const summary = byEmoji.get(emoji) ?? { emoji, count: 0, users: [] };
    summary.count += 1;
    if (summary.users.length < REACTOR_PREVIEW) summary.users.push(user);
    byEmoji.set(emoji, summary);
  }
  return [...byEmoji.values()];
}
