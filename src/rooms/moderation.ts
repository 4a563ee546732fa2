import { blockedPhraseIn, parseBlockedWords, parseVerdict, type Verdict } from "../domain/content-policy";
import type { ChatError, Refusal } from "../domain/errors";
import { type Env, positiveInt } from "../env";

/**
 * The content policy every message passes before it is stored: the built-in word list (CONTENT_BLOCKED_WORDS),
 * then, when MODERATION_WEBHOOK_URL is set, the moderation webhook. The webhook gets
 * `{"room", "sender_id", "text"}` as JSON (with `Authorization: Bearer MODERATION_WEBHOOK_SECRET` when set) and
 * answers `{"allowed": bool, "reason"?, "close"?}` within MODERATION_TIMEOUT_MS. A webhook that fails, times
 * out or answers something else leaves the message to MODERATION_FAILURE: `open` (the default) stores it,
 * `closed` refuses it without ending the session.
 */

export const DEFAULT_MODERATION_TIMEOUT_MS = 2000;

export interface ModerationRequest {
  room: string;
  sender_id: string;
  text: string;
}

const refusal = (error: ChatError): Refusal => ({ ok: false, error });

/** What the webhook said about `request`, or null when it gave no verdict in time. */
async function askWebhook(
  env: Env,
  url: string,
  request: ModerationRequest,
  fetcher: typeof fetch,
): Promise<Verdict | null> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (env.MODERATION_WEBHOOK_SECRET) headers.authorization = `Bearer ${env.MODERATION_WEBHOOK_SECRET}`;
  try {
    const response = await fetcher(url, {
      method: "POST",
      headers,
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(positiveInt(env.MODERATION_TIMEOUT_MS, DEFAULT_MODERATION_TIMEOUT_MS)),
    });
    if (!response.ok) {
      console.error("moderation webhook answered", response.status);
      return null;
    }
    return parseVerdict(await response.json());
  } catch (error) {
    console.error("moderation webhook failed", error);
    return null;
  }
}

/** Why the policy refuses `request`, or null when it may be stored. */
export async function contentRefusal(
  env: Env,
  request: ModerationRequest,
  fetcher: typeof fetch = fetch,
): Promise<Refusal | null> {
  const blocked = blockedPhraseIn(request.text, parseBlockedWords(env.CONTENT_BLOCKED_WORDS));
  if (blocked !== null) return refusal({ code: "content_refused", message: `"${blocked}" is not permitted` });
  const url = env.MODERATION_WEBHOOK_URL?.trim();
  if (!url) return null;
  const verdict = await askWebhook(env, url, request, fetcher);
  if (verdict === null) {
    if (env.MODERATION_FAILURE?.trim() !== "closed") return null;
    return refusal({
      code: "content_refused",
      message: "the message could not be checked; try again later",
      close: false,
    });
  }
  if (verdict.allowed) return null;
  return refusal({ code: "content_refused", message: verdict.reason, close: verdict.close });
}
