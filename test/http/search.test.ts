import { beforeAll, describe, expect, it } from "vitest";
import { call, uniqueId } from "./client";
import { createRoom, expectRefusal, flush, type Person, person, send } from "./fixtures";

/** A word no other test file's messages contain, so D1 (shared by the file's tests) answers only ours. */
const word = () => `w${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;

describe("GET /v1/search", () => {
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let eve: Person;
  let shared: { key: string; number: number };
  let secret: { key: string; number: number };
  let open: { key: string; number: number };
  let privateLive: { key: string; number: number };
  const term = word();

  beforeAll(async () => {
    alice = await person("search-alice");
    bob = await person("search-bob");
    carol = await person("search-carol");
    eve = await person("search-eve");
    shared = await createRoom(alice, { members: [bob.id, carol.id] });
    secret = await createRoom(eve);
    open = await createRoom(eve, { kind: "live" });
    privateLive = await createRoom(eve, { kind: "live", private: true });
    for (let i = 0; i < 5; i++) await send(shared.key, alice, { text: `${term} number ${i}` });
    await send(shared.key, bob, { text: `${term} whispered to carol`, to: carol.id });
    await send(secret.key, eve, { text: `${term} in eve's private group` });
    await send(privateLive.key, eve, { text: `${term} in eve's private live room` });
    await send(open.key, eve, { text: `${term} in a public live room` });
    for (const room of [shared, secret, open, privateLive]) await flush(room.key);
  });

  const search = (who: Person, query: string) => call(`/v1/search?${query}`, { token: who.token });
  const texts = (result: { body: { messages: { text: string }[] } }) =>
    result.body.messages.map((m) => m.text);

  it("finds messages in my rooms and public live rooms, never another user's private room", async () => {
    const mine = await search(alice, `q=${term}&limit=50`);
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    expect(texts(mine).sort()).toEqual(
      [...[0, 1, 2, 3, 4].map((i) => `${term} number ${i}`), `${term} in a public live room`].sort(),
    );
    expect(mine.body.next_cursor).toBeNull();
    for (const whisperer of [bob, carol]) {
      const found = texts(await search(whisperer, `q=${term}&limit=50`));
      expect(found).toContain(`${term} whispered to carol`);
      expect(found.some((t) => t.includes("eve's"))).toBe(false);
    }
  });

  it("pages newest first with a cursor, without gaps or repeats", async () => {
    const first = await search(alice, `q=${term}&room=${shared.key}&limit=2`);
    expect(texts(first)).toEqual([`${term} number 4`, `${term} number 3`]);
    const seen = [...texts(first)];
    let cursor = first.body.next_cursor as string | null;
    while (cursor) {
      const page = await search(
        alice,
        `q=${term}&room=${shared.key}&limit=2&cursor=${encodeURIComponent(cursor)}`,
      );
      seen.push(...texts(page));
      cursor = page.body.next_cursor;
    }
    expect(seen).toEqual([4, 3, 2, 1, 0].map((i) => `${term} number ${i}`));
  });

  it("orders by relevance when asked, and matches prefixes", async () => {
    const relevant = await search(alice, `q=${term}+number+3&order=relevance&room=${shared.number}`);
    expect(texts(relevant)).toEqual([`${term} number 3`]);
    const prefix = await search(alice, `q=${term.slice(0, 8)}*&room=${shared.key}&limit=50`);
    expect(texts(prefix)).toHaveLength(5);
  });

  it("answers a query with no searchable words with nothing", async () => {
    const result = await search(alice, `q=${encodeURIComponent('"* ( )')}`);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ messages: [], next_cursor: null });
  });

  it("refuses room= naming a room I cannot read with 403, an unknown one with 404", async () => {
    expectRefusal(await search(alice, `q=${term}&room=${secret.key}`), 403, "forbidden");
    expectRefusal(await search(alice, `q=${term}&room=${privateLive.number}`), 403, "forbidden");
    expectRefusal(await search(alice, `q=${term}&room=${uniqueId("none")}`), 404, "not_found");
    expectRefusal(await search(alice, `q=${term}&room=987654321`), 404, "not_found");
    const inPublic = await search(alice, `q=${term}&room=${open.key}`);
    expect(texts(inPublic)).toEqual([`${term} in a public live room`]);
  });

  it("refuses missing or oversize queries and bad paging with 400, no token with 401", async () => {
    for (const query of [
      "",
      "q=",
      `q=${"x".repeat(257)}`,
      "q=a&limit=0",
      "q=a&limit=51",
      "q=a&order=oldest",
      `q=a&cursor=${"c".repeat(513)}`,
    ]) {
      expectRefusal(await search(alice, query), 400, "bad_request");
    }
    expectRefusal(await call(`/v1/search?q=${term}`), 401, "unauthorized");
  });

  it("finds an edited message by its new text only, and a deleted one no more", async () => {
    const before = word();
    const after = word();
    const message = await send(shared.key, alice, { text: `${before} draft` });
    await flush(shared.key);
    expect(texts(await search(bob, `q=${before}`))).toEqual([`${before} draft`]);
    const path = `/v1/rooms/${shared.key}/messages/${message.id}`;
    const edited = await call(path, {
      method: "PATCH",
      token: alice.token,
      body: { text: `${after} final` },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    await flush(shared.key);
    expect(texts(await search(bob, `q=${before}`))).toEqual([]);
    expect(texts(await search(bob, `q=${after}`))).toEqual([`${after} final`]);
    expect((await call(path, { method: "DELETE", token: alice.token })).status).toBe(204);
    await flush(shared.key);
    expect(texts(await search(bob, `q=${after}`))).toEqual([]);
  });

  it("no longer finds a message once I leave its room", async () => {
    const leaver = await person("search-leaver");
    const room = await createRoom(alice, { members: [leaver.id] });
    const gone = word();
    await send(room.key, alice, { text: `${gone} before leaving` });
    await flush(room.key);
    expect(texts(await search(leaver, `q=${gone}`))).toEqual([`${gone} before leaving`]);
    const left = await call(`/v1/rooms/${room.key}/leave`, { method: "POST", token: leaver.token });
    expect(left.status).toBe(204);
    expect(texts(await search(leaver, `q=${gone}`))).toEqual([]);
  });
});
