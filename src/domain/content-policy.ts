/**
 * The built-in content policy: a configured list of words and phrases a message may not contain. Matching is
 * by whole words, case- and width-insensitive (NFKC, lower case), with any run of non-letters and non-digits
 * between words: "Spam", "SPAM!" and "ｓｐａｍ" all match `spam`, "spammer" does not; `buy now` matches "Buy.
 * NOW".
 */

/** One blocked entry: its words in order. */
export type BlockedPhrase = readonly string[];

function wordsOf(text: string): string[] {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The comma-separated list of CONTENT_BLOCKED_WORDS, each entry as its words; empty entries are dropped. */
export function parseBlockedWords(raw: string | undefined): BlockedPhrase[] {
  return (raw ?? "")
    .split(",")
    .map(wordsOf)
    .filter((phrase) => phrase.length > 0);
}

/** The first blocked entry `text` contains, as configured words joined by a space, or null. */
export function blockedPhraseIn(text: string, blocked: readonly BlockedPhrase[]): string | null {
  if (blocked.length === 0) return null;
  const words = wordsOf(text);
  for (const phrase of blocked) {
    for (let start = 0; start + phrase.length <= words.length; start++) {
      if (phrase.every((word, i) => words[start + i] === word)) return phrase.join(" ");
    }
  }
  return null;
}

/** What a moderation webhook answered: the message may be stored, or not (and whether the session ends). */
export type Verdict = { allowed: true } | { allowed: false; reason: string; close: boolean };

/**
 * A moderation webhook's JSON answer as a verdict, or null when it is not one (then the failure policy applies).
 * `close` defaults to true: a refusal ends the session where the dialect has such a close (Swappart 4011).
 */
export function parseVerdict(body: unknown): Verdict | null {
  if (typeof body !== "object" || body === null) return null;
  const { allowed, reason, close } = body as Record<string, unknown>;
  if (allowed === true) return { allowed: true };
  if (allowed !== false) return null;
  return {
    allowed: false,
    reason:
      typeof reason === "string" && reason.trim() ? reason.trim().slice(0, 500) : "refused by moderation",
    close: close !== false,
  };
}
