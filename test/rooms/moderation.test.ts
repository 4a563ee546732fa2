import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { contentRefusal } from "../../src/rooms/moderation";

/** A local fake of the moderation service: records each call and answers as told. */
function fakeModeration(answer: (body: { text: string }) => Response | Promise<Response>) {
  const calls: { url: string; headers: Headers; body: { room: string; sender_id: string; text: string } }[] =
    [];
  const fetcher = (async (url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body));
    calls.push({ url, headers: new Headers(init.headers), body });
    init.signal?.throwIfAborted();
    const aborted = new Promise<never>((_, reject) =>
      init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
    );
    return Promise.race([answer(body), aborted]);
  }) as unknown as typeof fetch;
  return { calls, fetcher };
}

const request = { room: "r1", sender_id: "u1", text: "hello there" };
const withWebhook = (vars: Record<string, string>) => ({
  ...env,
  MODERATION_WEBHOOK_URL: "https://moderation.test/check",
  ...vars,
});

describe("the content policy", () => {
  it("refuses a blocked word before asking the webhook", async () => {
    const { calls, fetcher } = fakeModeration(() => Response.json({ allowed: true }));
    const refused = await contentRefusal(withWebhook({ CONTENT_BLOCKED_WORDS: "there" }), request, fetcher);
    expect(refused).toEqual({
      ok: false,
      error: { code: "content_refused", message: '"there" is not permitted' },
    });
    expect(calls).toEqual([]);
  });

  it("asks the webhook with the message and the secret, and follows its verdict", async () => {
    const { calls, fetcher } = fakeModeration(({ text }) =>
      Response.json(
        text === "hello there" ? { allowed: false, reason: "fake", close: false } : { allowed: true },
      ),
    );
    const vars = withWebhook({ CONTENT_BLOCKED_WORDS: "", MODERATION_WEBHOOK_SECRET: "s3" });
    expect(await contentRefusal(vars, request, fetcher)).toEqual({
      ok: false,
      error: { code: "content_refused", message: "fake", close: false },
    });
    expect(await contentRefusal(vars, { ...request, text: "fine" }, fetcher)).toBeNull();
    expect(calls[0]).toMatchObject({ url: "https://moderation.test/check", body: request });
    expect(calls[0]?.headers.get("authorization")).toBe("Bearer s3");
  });

  it("fails open by default and closed when configured, on a timeout, an error status or a non-verdict", async () => {
    const slow = fakeModeration(() => new Promise<Response>(() => undefined));
    const broken = fakeModeration(() => new Response("down", { status: 503 }));
    const odd = fakeModeration(() => Response.json({ ok: 1 }));
    const open = withWebhook({ CONTENT_BLOCKED_WORDS: "", MODERATION_TIMEOUT_MS: "50" });
    const closed = { ...open, MODERATION_FAILURE: "closed" };
    for (const fake of [slow, broken, odd]) {
      expect(await contentRefusal(open, request, fake.fetcher)).toBeNull();
      expect(await contentRefusal(closed, request, fake.fetcher)).toEqual({
        ok: false,
        error: {
          code: "content_refused",
          message: "the message could not be checked; try again later",
          close: false,
        },
      });
    }
  });

  it("lets everything through when neither a word list nor a webhook is configured", async () => {
    const { calls, fetcher } = fakeModeration(() => Response.json({ allowed: false }));
    expect(
      await contentRefusal(
        { ...env, CONTENT_BLOCKED_WORDS: "", MODERATION_WEBHOOK_URL: "" },
        request,
        fetcher,
      ),
    ).toBeNull();
    expect(calls).toEqual([]);
  });
});
