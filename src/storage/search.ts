import type { Message } from "../domain/model";
import { type MessageRow, toMessage } from "./room-rows";

/**
 * Full-text search over the messages in D1 (`messages_fts`, kept in step by triggers; see schema.sql), limited
 * to what the user may read: rooms they are a member of and public live rooms, without whispers between others,
 * tombstones or command messages.
 */

/** Longest query accepted (characters), and most terms used from it. */
export const MAX_QUERY_CHARS = 256;
export const MAX_QUERY_TERMS = 16;
export const MAX_SEARCH_PAGE = 50;

/** `recent`: newest first. `relevance`: best BM25 match first, then newest. */
export type SearchOrder = "recent" | "relevance";

export interface SearchQuery {
  text: string;
  order: SearchOrder;
  limit: number;
  /** Only this room (its number). */
  room?: number;
  /** The previous page's `next`. */
  cursor?: string | null;
}

export interface SearchPage {
  messages: Message[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
}

/**
 * The user's words as an FTS5 query that can never be a syntax error: every whitespace-separated term becomes a
 * quoted phrase (quotes doubled) and all of them must match; a term ending in `*` matches as a prefix. Null when
 * nothing searchable is left.
 */
export function ftsQuery(text: string): string | null {
  const terms = text
    .slice(0, MAX_QUERY_CHARS)
    .split(/\s+/u)
    .map((raw) => {
      const prefix = raw.endsWith("*");
      const word = (prefix ? raw.replace(/\*+$/u, "") : raw).replace(/[\p{Cc}]/gu, "");
      return /[\p{L}\p{N}]/u.test(word) ? `"${word.replaceAll('"', '""')}"${prefix ? "*" : ""}` : null;
    })
    .filter((t): t is string => t !== null)
    .slice(0, MAX_QUERY_TERMS);
  return terms.length > 0 ? terms.join(" ") : null;
}

interface Cursor {
  id: string;
  score: number;
}

const encodeCursor = (cursor: Cursor): string => btoa(JSON.stringify(cursor));

/** A cursor this module made, or null for anything else (a client may send garbage). */
function decodeCursor(raw: string | null | undefined): Cursor | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(atob(raw)) as Partial<Cursor>;
    return typeof value.id === "string" && typeof value.score === "number" && Number.isFinite(value.score)
      ? { id: value.id, score: value.score }
      : null;
  } catch {
    return null;
  }
}

/**
 * The FTS key is room_id * 2^32 + seq (schema.sql). BM25 scores are negative, better matches lower; a page
 * after a cursor continues below it in the chosen order (ids are UUIDv7, so they order by time).
 */
const SEARCH = (order: SearchOrder) => `
WITH hits AS (
  SELECT rowid AS doc, bm25(messages_fts) AS score FROM messages_fts WHERE messages_fts MATCH ?1
)
SELECT m.*, r.key AS room_key, hits.score AS score FROM hits
JOIN messages m ON m.room_id = hits.doc >> 32 AND m.seq = (hits.doc & 4294967295)
JOIN rooms r ON r.id = m.room_id
WHERE m.deleted_at IS NULL AND m.type = 'text'
  AND (m.recipient_id IS NULL OR m.recipient_id = ?2 OR m.sender_id = ?2)
  AND (EXISTS (SELECT 1 FROM memberships ms WHERE ms.room_id = m.room_id AND ms.user_id = ?2)
       OR (r.kind = 'live' AND r.private = 0))
  AND (?3 IS NULL OR m.room_id = ?3)
  AND (?4 IS NULL OR ${order === "recent" ? "m.id < ?4" : "hits.score > ?5 OR (hits.score = ?5 AND m.id < ?4)"})
ORDER BY ${order === "recent" ? "m.id DESC" : "hits.score ASC, m.id DESC"}
LIMIT ?6`;

/** One page of the messages matching `query.text` that `userId` may read; empty for a query with no terms. */
export async function searchMessages(
  db: D1Database,
  userId: string,
  query: SearchQuery,
): Promise<SearchPage> {
  const match = ftsQuery(query.text);
  if (match === null) return { messages: [], next: null };
  const limit = Math.max(1, Math.min(query.limit, MAX_SEARCH_PAGE));
  const after = decodeCursor(query.cursor);
  const { results } = await db
    .prepare(SEARCH(query.order))
    .bind(match, userId, query.room ?? null, after?.id ?? null, after?.score ?? 0, limit + 1)
    .all<MessageRow & { room_key: string; score: number }>();
  const page = results.slice(0, limit);
  const tail = page.at(-1);
  return {
    messages: page.map((row) => toMessage(row, row.room_key)),
    next: results.length > limit && tail ? encodeCursor({ id: tail.id, score: tail.score }) : null,
  };
}
