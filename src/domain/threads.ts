import { fail, type Outcome, ok } from "./errors";
import { liveTargetOf } from "./lifecycle";
import { type Message, type Profile, THREAD_PREVIEW, type ThreadSummary } from "./model";

/**
 * Threads are one level deep: a reply names its root with `parent_id`, and the root carries the thread's summary.
 * A thread's participants, who are also its followers (the users its events reach on the threads scope), are the
 * root's author and everyone with a reply still standing.
 */

/**
 * The root a reply may join: in the room, visible to the sender, not deleted, not itself a reply, not a whisper;
 * and the reply is no whisper either (everyone in the room sees a thread's replies and their count).
 */
export function checkReplyRoot(
  root: Message | null,
  reply: { to?: string | null },
  senderId: string,
): Outcome<Message> {
  const live = liveTargetOf(root, senderId);
  if (!live.ok) return fail("not_found", `the thread's root message: ${live.error.message}`);
  if (live.value.parent_id !== null)
    return fail("bad_request", "a reply has no thread of its own: reply to its root");
  if (live.value.to !== null) return fail("bad_request", "a whisper has no thread");
  if ((reply.to ?? null) !== null) return fail("bad_request", "a reply cannot be a whisper");
  return ok(live.value);
}

/** One replier in a thread, from their standing replies. */
export interface ThreadReplier {
  user: Profile;
  /** Seq of their earliest standing reply: orders the preview. */
  first_reply_seq: number;
  last_reply_at: string;
  replies: number;
}

/** The root's summary from its repliers; null once no reply stands (the root is a plain message again). */
export function summarizeThread(
  rootAuthor: Profile,
  repliers: readonly ThreadReplier[],
): ThreadSummary | null {
  const replies = repliers.reduce((n, r) => n + r.replies, 0);
  if (replies === 0) return null;
  const others = repliers
    .filter((r) => r.replies > 0 && r.user.id !== rootAuthor.id)
    .sort((a, b) => a.first_reply_seq - b.first_reply_seq);
  const lastReplyAt = repliers.reduce<string | null>(
    (latest, r) => (latest === null || r.last_reply_at > latest ? r.last_reply_at : latest),
    null,
  );
  return {
    replies_count: replies,
    participants_count: others.length + 1,
    participants_preview: [rootAuthor, ...others.map((r) => r.user)].slice(0, THREAD_PREVIEW),
    last_reply_at: lastReplyAt,
  };
}
