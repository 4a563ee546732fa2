import type { Message } from "./model";

/**
 * Whether a message mentions a user: `@<user id>` as a word in its text, or the id listed in `data.mentions`
 * (clients that resolve display names to ids send that list).
 */
export function mentions(message: Pick<Message, "text" | "data">, userId: string): boolean {
  const listed = (message.data as { mentions?: unknown } | null)?.mentions;
  if (Array.isArray(listed) && listed.includes(userId)) return true;
  const escaped = userId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w@])@${escaped}(?![\\w-])`).test(message.text);
}
