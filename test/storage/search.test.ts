import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deleteRoomRow } from "../../src/storage/room-rows";
import { ftsQuery, type SearchQuery, searchMessages } from "../../src/storage/search";
import { user } from "../domain/fixtures";
import { change, flush, roomMessage, roomRow } from "./fixtures";

/** Each test searches for words of its own, so rows other tests leave in the shared database never match. */
const word = () => `w${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;

const search = (userId: string, text: string, extra: Partial<SearchQuery> = {}) =>
  searchMessages(env.DB, userId, { text, order: "recent", limit: 20, ...extra });
const texts = async (userId: string, text: string, extra: Partial<SearchQuery> = {}) =>
  (await search(userId, text, extra)).messages.map((m) => m.text);

describe("the FTS query", () => {
  it("quotes every term, keeps a trailing * as a prefix and drops terms with nothing searchable", () => {
    expect(ftsQuery('hello "world" NEAR(a b) *')).toBe('"hello" """world""" "NEAR(a" "b)"');
    expect(ftsQuery("caf* au")).toBe('"caf"* "au"');
    expect(ftsQuery(" !!! ** ")).toBeNull();
    expect(ftsQuery("")).toBeNull();
  });

  it("makes a query D1 accepts from any input", async () => {
    const queries = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), 60);
    queries.push('" OR "', "a AND OR NOT", "col:x", "^start", "a - b", "NEAR(", "x\u0000y");
    for (const text of queries) {
      const match = ftsQuery(text);
      if (match === null) continue;
      await env.DB.prepare("SELECT COUNT(*) AS n FROM messages_fts WHERE messages_fts MATCH ?")
        .bind(match)
        .first();
    }
  });
});

describe("search", () => {
  it("finds all the words, as prefixes and without diacritics, newest first", async () => {
    const w = word();
    const r = await roomRow("group", ["ann", "bob"]);
    await flush(r, [
      change(roomMessage(r, { seq: 1, text: `${w} café crème` })),
      change(roomMessage(r, { seq: 2, text: `${w} cafeteria` })),
      change(roomMessage(r, { seq: 3, text: `${w} tea` })),
    ]);
    expect(await texts("bob", `${w} cafe`)).toEqual([`${w} café crème`]);
    expect(await texts("bob", `${w} caf*`)).toEqual([`${w} cafeteria`, `${w} café crème`]);
    expect(await texts("bob", `${w.toUpperCase()} TEA`)).toEqual([`${w} tea`]);
    const [found] = (await search("bob", `${w} tea`)).messages;
    expect(found).toMatchObject({ room: r.key, seq: 3, sender: user("ann") });
  });

  it("searches only what the user may read", async () => {
    const w = word();
    const mine = await roomRow("group", ["ann", "bob"]);
    const theirs = await roomRow("group", ["ann", "cy"]);
    const live = await roomRow("live", ["ann"]);
    const privateLive = await roomRow("live", ["ann"], { private: true });
    await flush(mine, [
      change(roomMessage(mine, { seq: 1, text: `${w} member room` })),
      change(roomMessage(mine, { seq: 2, text: `${w} whisper to cy`, to: "cy" })),
      change(roomMessage(mine, { seq: 3, text: `${w} whisper to bob`, to: "bob" })),
      change(roomMessage(mine, { seq: 4, text: `${w} bob's own whisper`, to: "ann", sender: user("bob") })),
      change(roomMessage(mine, { seq: 5, text: `${w} command`, type: "command" })),
    ]);
    await flush(theirs, [change(roomMessage(theirs, { seq: 1, text: `${w} not a member` }))]);
    await flush(live, [change(roomMessage(live, { seq: 1, text: `${w} public live` }))]);
    await flush(privateLive, [change(roomMessage(privateLive, { seq: 1, text: `${w} private live` }))]);
    expect((await texts("bob", w)).sort()).toEqual(
      [`${w} member room`, `${w} whisper to bob`, `${w} bob's own whisper`, `${w} public live`].sort(),
    );
    expect(await texts("bob", w, { room: live.number })).toEqual([`${w} public live`]);
    expect(await texts("bob", w, { room: theirs.number })).toEqual([]);
  });

  it("follows edits and deletions, and forgets a deleted room", async () => {
    const [w, v] = [word(), word()];
    const r = await roomRow("group", ["ann", "bob"]);
    const m = roomMessage(r, { seq: 1, text: `${w} before` });
    await flush(r, [change(m)]);
    await flush(r, [change({ ...m, text: `${v} after`, version: 2, changed_seq: 2 }, "edit")]);
    expect(await texts("bob", w)).toEqual([]);
    expect(await texts("bob", v)).toEqual([`${v} after`]);
    await flush(r, [
      change({ ...m, text: "", deleted_at: "2026-01-01T00:05:00.000Z", changed_seq: 3 }, "delete"),
    ]);
    expect(await texts("bob", v)).toEqual([]);
    const other = roomMessage(r, { seq: 2, text: `${w} again` });
    await flush(r, [change(other)]);
    expect(await texts("bob", w)).toEqual([`${w} again`]);
    const key = r.number * 2 ** 32 + 2;
    const indexed = () =>
      env.DB.prepare("SELECT COUNT(*) AS n FROM messages_fts WHERE rowid = ?").bind(key).first("n");
    expect(await indexed()).toBe(1);
    await deleteRoomRow(env.DB, r.number);
    expect(await indexed()).toBe(0);
  });

  it("pages by recency and by relevance without repeats, and ignores a forged cursor", async () => {
    const w = word();
    const r = await roomRow("group", ["ann", "bob"]);
    const bodies = [
      `${w}`,
      `${w} ${w} ${w}`,
      `${w} and a long tail of other words here`,
      `${w} ${w}`,
      `x ${w} y`,
    ];
    await flush(
      r,
      bodies.map((text, i) =>
        change(roomMessage(r, { seq: i + 1, id: `0000000${i}-0000-7000-8000-000000000000`, text })),
      ),
    );
    for (const order of ["recent", "relevance"] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof search>> = await search("bob", w, { order, limit: 2, cursor });
        seen.push(...page.messages.map((m) => m.text));
        cursor = page.next;
      } while (cursor !== null);
      expect(seen.sort()).toEqual([...bodies].sort());
    }
    const recent = await texts("bob", w, { order: "recent", limit: 2 });
    expect(recent).toEqual([bodies[4], bodies[3]]);
    const relevant = await texts("bob", w, { order: "relevance", limit: 1 });
    expect(relevant).toEqual([bodies[1]]);
    expect((await search("bob", w, { cursor: "not-a-cursor" })).messages).toHaveLength(5);
    expect((await search("bob", "   ")).messages).toEqual([]);
  });
});
