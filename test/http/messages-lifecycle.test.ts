import { beforeAll, describe, expect, it } from "vitest";
import { deepArrayText } from "../helpers/deep-json";
import { call, uniqueId } from "./client";
import { createRoom, expectRefusal, type Person, person, send } from "./fixtures";

let owner: Person;
let author: Person;
let other: Person;
let outsider: Person;
let room: { key: string; number: number };

beforeAll(async () => {
  owner = await person("life-owner");
  author = await person("life-author");
  other = await person("life-other");
  outsider = await person("life-outsider");
  room = await createRoom(owner, { members: [author.id, other.id] });
});

const messagePath = (id: string, rest = "") => `/v1/rooms/${room.key}/messages/${id}${rest}`;
const unknownMessage = () => crypto.randomUUID();

async function history(who: Person, query = "") {
  const result = await call(`/v1/rooms/${room.key}/messages?limit=100${query}`, { token: who.token });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body.messages as { id: string; text: string; deleted_at: string | null; thread: unknown }[];
}

describe("PATCH /v1/rooms/{id}/messages/{message}", () => {
  const edit = (who: Person, id: string, body: unknown) =>
    call(messagePath(id), { method: "PATCH", token: who.token, body });

  it("lets the author edit, with edited_at and a new version", async () => {
    const message = await send(room.key, author, { text: "frist" });
    const result = await edit(author, message.id, { text: "first", data: { fixed: true } });
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.message).toMatchObject({
      id: message.id,
      text: "first",
      data: { fixed: true },
      version: 2,
    });
    expect(result.body.message.edited_at).toEqual(expect.any(String));
    expect((await history(other)).find((m) => m.id === message.id)?.text).toBe("first");
  });

  it("refuses editing another's message with 403, even for the owner", async () => {
    const message = await send(room.key, author, { text: "mine" });
    expectRefusal(await edit(other, message.id, { text: "yours now" }), 403, "forbidden");
    expectRefusal(await edit(owner, message.id, { text: "the owner's now" }), 403, "forbidden");
    expectRefusal(await edit(outsider, message.id, { text: "from outside" }), 403, "forbidden");
    expect((await history(author)).find((m) => m.id === message.id)?.text).toBe("mine");
  });

  it("refuses oversize text with 413, bad bodies and ids with 400, unknown messages and rooms with 404", async () => {
    const message = await send(room.key, author, { text: "to edit" });
    expectRefusal(await edit(author, message.id, { text: "x".repeat(8001) }), 413, "payload_too_large");
    for (const body of [{}, { text: 5 }, `{"text":"x","data":${deepArrayText(3400)}}`]) {
      expectRefusal(await edit(author, message.id, body), 400, "bad_request");
    }
    expectRefusal(await edit(author, "not.an.id", { text: "x" }), 400, "bad_request");
    expectRefusal(await edit(author, unknownMessage(), { text: "x" }), 404, "not_found");
    const elsewhere = await call(`/v1/rooms/${uniqueId("none")}/messages/${message.id}`, {
      method: "PATCH",
      token: author.token,
      body: { text: "x" },
    });
    expectRefusal(elsewhere, 404, "not_found");
    expectRefusal(
      await call(messagePath(message.id), { method: "PATCH", body: { text: "x" } }),
      401,
      "unauthorized",
    );
  });
});

describe("DELETE /v1/rooms/{id}/messages/{message}", () => {
  const remove = (who: Person, id: string) => call(messagePath(id), { method: "DELETE", token: who.token });

  it("lets the author delete, idempotently, leaving a tombstone with the text wiped", async () => {
    const message = await send(room.key, author, { text: "regrettable", data: { x: 1 } });
    const result = await remove(author, message.id);
    expect(result.status, JSON.stringify(result.body)).toBe(204);
    const tombstone = (await history(other)).find((m) => m.id === message.id);
    expect(tombstone).toMatchObject({ text: "", deleted_at: expect.any(String) });
    expect((await remove(author, message.id)).status).toBe(204);
    expectRefusal(
      await call(messagePath(message.id), { method: "PATCH", token: author.token, body: { text: "x" } }),
      404,
      "not_found",
    );
  });

  it("lets an owner delete another's message, and refuses a plain member with 403", async () => {
    const message = await send(room.key, author, { text: "moderate me" });
    expectRefusal(await remove(other, message.id), 403, "forbidden");
    expectRefusal(await remove(outsider, message.id), 403, "forbidden");
    expect((await remove(owner, message.id)).status).toBe(204);
    expect((await history(author)).find((m) => m.id === message.id)?.deleted_at).toEqual(expect.any(String));
  });

  it("answers 404 for an unknown message", async () => {
    expectRefusal(await remove(owner, unknownMessage()), 404, "not_found");
  });
});

describe("reactions", () => {
  const react = (who: Person, id: string, emoji: string, method: "PUT" | "DELETE" = "PUT") =>
    call(messagePath(id, `/reactions/${emoji}`), { method, token: who.token });
  const thumbs = encodeURIComponent("👍");

  it("adds one reaction per user per emoji, idempotently, and takes it back", async () => {
    const message = await send(room.key, author, { text: "react to me" });
    const first = await react(other, message.id, thumbs);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.message.reactions).toMatchObject([
      { emoji: "👍", count: 1, users: [{ id: other.id }] },
    ]);
    expect((await react(other, message.id, thumbs)).body.message.reactions[0].count).toBe(1);
    expect((await react(owner, message.id, thumbs)).body.message.reactions[0].count).toBe(2);
    const back = await react(other, message.id, thumbs, "DELETE");
    expect(back.body.message.reactions).toMatchObject([{ emoji: "👍", count: 1, users: [{ id: owner.id }] }]);
    expect((await react(other, message.id, thumbs, "DELETE")).status).toBe(200);
  });

  it("takes :shortcodes: in any case and the text form of a pictograph as its emoji form", async () => {
    const message = await send(room.key, author, { text: "shortcodes" });
    expect((await react(other, message.id, ":PARTY_parrot:")).body.message.reactions[0].emoji).toBe(
      ":party_parrot:",
    );
    const heart = await react(other, message.id, encodeURIComponent("❤"));
    expect(heart.body.message.reactions.map((r: { emoji: string }) => r.emoji)).toContain("❤️");
  });

  it("refuses what is not one emoji with 400, and deleted or unknown messages with 404", async () => {
    const message = await send(room.key, author, { text: "bad emoji" });
    for (const emoji of ["abc", encodeURIComponent("👍👍"), ":no spaces:", `:${"x".repeat(33)}:`, "%F0%9F"]) {
      expectRefusal(await react(other, message.id, emoji), 400, "bad_request");
    }
    expectRefusal(await react(other, unknownMessage(), thumbs), 404, "not_found");
    expectRefusal(await react(outsider, message.id, thumbs), 403, "forbidden");
    await call(messagePath(message.id), { method: "DELETE", token: author.token });
    expectRefusal(await react(other, message.id, thumbs), 404, "not_found");
  });
});

describe("message pins", () => {
  const pin = (who: Person, id: string, method: "PUT" | "DELETE" = "PUT") =>
    call(messagePath(id, "/pin"), { method, token: who.token });

  it("lets owners and admins pin and unpin, not members", async () => {
    const message = await send(room.key, author, { text: "pin me" });
    expectRefusal(await pin(author, message.id), 403, "forbidden");
    const pinned = await pin(owner, message.id);
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(200);
    expect(pinned.body.message.pinned_at).toEqual(expect.any(String));
    expectRefusal(await pin(other, message.id, "DELETE"), 403, "forbidden");
    const unpinned = await pin(owner, message.id, "DELETE");
    expect(unpinned.body.message.pinned_at).toBeNull();
    expectRefusal(await pin(owner, unknownMessage()), 404, "not_found");
  });
});

describe("threads", () => {
  it("replies in a thread, reads its history and marks it read", async () => {
    const root = await send(room.key, author, { text: "thread root" });
    const replies = [
      await send(room.key, other, { text: "reply 1", parent_id: root.id }),
      await send(room.key, owner, { text: "reply 2", parent_id: root.id }),
    ];
    await send(room.key, other, { text: "not in the thread" });
    const thread = await history(author, `&thread=${root.id}`);
    expect(thread.map((m) => m.id)).toEqual(replies.map((m) => m.id));
    const summary = (await history(author)).find((m) => m.id === root.id)?.thread;
    expect(summary).toMatchObject({ replies_count: 2, participants_count: 3 });

    const read = await call(`/v1/rooms/${room.key}/threads/${root.id}/read`, {
      method: "PUT",
      token: author.token,
    });
    expect(read.status, JSON.stringify(read.body)).toBe(204);
  });

  it("refuses a reply to a reply or to a missing root, and unknown threads", async () => {
    const root = await send(room.key, author, { text: "another root" });
    const reply = await send(room.key, other, { text: "a reply", parent_id: root.id });
    const post = (parent_id: string) =>
      call(`/v1/rooms/${room.key}/messages`, {
        method: "POST",
        token: owner.token,
        body: { text: "x", parent_id },
      });
    expectRefusal(await post(reply.id), 400, "bad_request");
    expectRefusal(await post(unknownMessage()), 404, "not_found");
    expectRefusal(
      await call(`/v1/rooms/${room.key}/messages?thread=${unknownMessage()}`, { token: owner.token }),
      404,
      "not_found",
    );
    expectRefusal(
      await call(`/v1/rooms/${room.key}/threads/${unknownMessage()}/read`, {
        method: "PUT",
        token: owner.token,
      }),
      404,
      "not_found",
    );
    expectRefusal(
      await call(`/v1/rooms/${room.key}/messages?thread=${root.id}`, { token: outsider.token }),
      403,
      "forbidden",
    );
  });
});

describe("PUT and DELETE /v1/rooms/{id}/pin", () => {
  it("pins the room in my list and unpins it; outsiders are refused", async () => {
    const pin = (who: Person, method: "PUT" | "DELETE") =>
      call(`/v1/rooms/${room.key}/pin`, { method, token: who.token });
    const pinned = await pin(other, "PUT");
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(200);
    expect(pinned.body.pinned_at).toEqual(expect.any(String));
    const unpinned = await pin(other, "DELETE");
    expect(unpinned.body).toEqual({ pinned_at: null });
    expectRefusal(await pin(outsider, "PUT"), 403, "forbidden");
    expectRefusal(
      await call(`/v1/rooms/${uniqueId("none")}/pin`, { method: "PUT", token: other.token }),
      404,
      "not_found",
    );
  });
});
