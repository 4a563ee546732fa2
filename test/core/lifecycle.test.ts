import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Command, CommandOutcome } from "../../src/domain/commands";
import type { Message, Profile } from "../../src/domain/model";
import type { RoomCommand } from "../../src/rooms/commands";
import { makeRoom, profile, roomStub, successValue } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

/** Runs a room command through the one command surface. */
async function run(room: string, actor: string | Profile, command: Command): Promise<CommandOutcome> {
  const who = typeof actor === "string" ? profile(actor) : actor;
  return (await roomStub(room).raw.run(who, { ...command, room } as RoomCommand)) as CommandOutcome;
}

async function post(room: string, sender: string, text: string, extra: Record<string, unknown> = {}) {
  const sent = await run(room, sender, {
    kind: "send",
    room,
    draft: { temp_id: `${sender}-${text}-${Math.random()}`, text, ...extra },
  });
  return successValue<{ message: Message }>(sent).message;
}

const refusal = (outcome: CommandOutcome) => (outcome.ok ? null : outcome.error.code);

describe("edit", () => {
  it("lets the author edit, with a new version and a message_updated event; refuses others and oversize text", async () => {
    await makeRoom("lc-edit", "ann", ["ben"]);
    const ben = await openSocket("/v1/rooms/lc-edit/ws", { token: await tokenFor("ben") });
    ben.send({ type: "subscribe", room: "lc-edit" });
    await ben.next(ofType("subscribed"));
    const m = await post("lc-edit", "ann", "helo");
    const edited = await run("lc-edit", "ann", {
      kind: "edit",
      room: "lc-edit",
      message_id: m.id,
      text: "hello",
    });
    const message = successValue<{ message: Message }>(edited).message;
    expect(message).toMatchObject({ text: "hello", version: 2, changed_seq: 2 });
    expect(message.edited_at).not.toBeNull();
    expect(await ben.next(ofType("message_updated"))).toMatchObject({
      seq: 2,
      change: "edit",
      message: { id: m.id, text: "hello", version: 2 },
    });
    expect(
      refusal(await run("lc-edit", "ben", { kind: "edit", room: "lc-edit", message_id: m.id, text: "x" })),
    ).toBe("forbidden");
    expect(
      refusal(
        await run("lc-edit", "ann", {
          kind: "edit",
          room: "lc-edit",
          message_id: m.id,
          text: "x".repeat(9000),
        }),
      ),
    ).toBe("payload_too_large");
    expect(
      refusal(await run("lc-edit", "ann", { kind: "edit", room: "lc-edit", message_id: "nope", text: "x" })),
    ).toBe("not_found");
    // The same text again changes nothing and records no event.
    await run("lc-edit", "ann", { kind: "edit", room: "lc-edit", message_id: { seq: m.seq }, text: "hello" });
    const view = successValue<{ head: number }>(await roomStub("lc-edit").view("ann"));
    expect(view.head).toBe(2);
  });
});

describe("delete", () => {
  it("lets the author or an owner delete, wipes the text in the room and in D1, and refuses a plain member", async () => {
    await makeRoom("lc-del", "ann", ["ben", "cat"]);
    const m = await post("lc-del", "ben", "secret");
    expect(refusal(await run("lc-del", "cat", { kind: "delete", room: "lc-del", message_id: m.id }))).toBe(
      "forbidden",
    );
    expect((await run("lc-del", "ann", { kind: "delete", room: "lc-del", message_id: m.id })).ok).toBe(true);
    const [tombstone] = successValue<Message[]>(await roomStub("lc-del").history("ben", { limit: 10 }));
    expect(tombstone).toMatchObject({ id: m.id, text: "", data: null, changed_seq: 2 });
    expect(tombstone?.deleted_at).not.toBeNull();
    await runDurableObjectAlarm(roomStub("lc-del").raw);
    const row = await env.DB.prepare("SELECT text, deleted_at, last_change FROM messages WHERE id = ?")
      .bind(m.id)
      .first<{ text: string; deleted_at: string | null; last_change: string }>();
    expect(row).toMatchObject({ text: "", last_change: "delete" });
    expect(row?.deleted_at).not.toBeNull();
    // Deleting a tombstone again is an ok no-op; the author of another message may still delete their own.
    expect((await run("lc-del", "ben", { kind: "delete", room: "lc-del", message_id: m.id })).ok).toBe(true);
  });
});

describe("threads", () => {
  it("keeps the root's summary, fills parent_seq, pages a thread, and refuses missing, foreign and nested parents", async () => {
    await makeRoom("lc-thr", "ann", ["ben"]);
    await makeRoom("lc-thr-other", "ann");
    const root = await post("lc-thr", "ann", "root");
    const foreign = await post("lc-thr-other", "ann", "elsewhere");
    const ben = await openSocket("/v1/rooms/lc-thr/ws", { token: await tokenFor("ben") });
    ben.send({ type: "subscribe", room: "lc-thr" });
    await ben.next(ofType("subscribed"));
    const reply = await post("lc-thr", "ben", "first reply", { parent_id: root.id });
    expect(reply).toMatchObject({ parent_id: root.id, parent_seq: root.seq });
    const updated = await ben.next(ofType("message_updated"));
    expect(updated).toMatchObject({
      change: "thread",
      message: { id: root.id, thread: { replies_count: 1, participants_count: 2 } },
    });
    await post("lc-thr", "ann", "second reply", { parent_id: { seq: root.seq } });
    await post("lc-thr", "ann", "not in the thread");
    const thread = successValue<{ messages: Message[] }>(
      await run("lc-thr", "ben", {
        kind: "history",
        room: "lc-thr",
        query: { limit: 10, thread_id: root.id },
      }),
    ).messages;
    expect(thread.map((m) => m.text)).toEqual(["first reply", "second reply"]);
    const refusals = await Promise.all([
      run("lc-thr", "ben", {
        kind: "send",
        room: "lc-thr",
        draft: { temp_id: "r1", text: "x", parent_id: "missing" },
      }),
      run("lc-thr", "ben", {
        kind: "send",
        room: "lc-thr",
        draft: { temp_id: "r2", text: "x", parent_id: foreign.id },
      }),
      run("lc-thr", "ben", {
        kind: "send",
        room: "lc-thr",
        draft: { temp_id: "r3", text: "x", parent_id: reply.id },
      }),
    ]);
    expect(refusals.map(refusal)).toEqual(["not_found", "not_found", "bad_request"]);
    // Deleting a reply updates its root's count in the same event.
    await run("lc-thr", "ben", { kind: "delete", room: "lc-thr", message_id: reply.id });
    expect(await ben.next(ofType("message_deleted"))).toMatchObject({
      message: { id: reply.id, text: "" },
      parent: { id: root.id, thread: { replies_count: 1 } },
    });
  });
});

describe("reactions", () => {
  it("adds, toggles and removes once per user and emoji, and refuses deleted messages and bad emoji", async () => {
    await makeRoom("lc-rx", "ann", ["ben"]);
    const ben = await openSocket("/v1/rooms/lc-rx/ws", { token: await tokenFor("ben") });
    ben.send({ type: "subscribe", room: "lc-rx" });
    await ben.next(ofType("subscribed"));
    const m = await post("lc-rx", "ann", "react to me");
    const add = { kind: "react" as const, room: "lc-rx", message_id: m.id, emoji: "👍", add: true as const };
    expect((await run("lc-rx", "ben", add)).ok).toBe(true);
    expect(await ben.next(ofType("reaction_changed"))).toMatchObject({
      emoji: "👍",
      added: true,
      user: { id: "ben" },
      reactions: [{ emoji: "👍", count: 1 }],
      message: { id: m.id, reactions: [{ emoji: "👍", count: 1 }] },
    });
    await run("lc-rx", "ben", add);
    const toggled = await run("lc-rx", "ben", { ...add, add: "toggle" });
    expect(successValue<{ message: Message }>(toggled).message.reactions).toEqual([]);
    expect(await ben.next(ofType("reaction_changed"))).toMatchObject({ added: false, reactions: [] });
    expect(refusal(await run("lc-rx", "ben", { ...add, emoji: "not an emoji" }))).toBe("bad_request");
    expect(refusal(await run("lc-rx", "ben", { ...add, emoji: `:${"x".repeat(40)}:` }))).toBe("bad_request");
    await run("lc-rx", "ann", { kind: "delete", room: "lc-rx", message_id: m.id });
    expect(refusal(await run("lc-rx", "ben", add))).toBe("not_found");
  });
});

describe("pins", () => {
  it("lets owners pin messages and members pin the room in their own list", async () => {
    await makeRoom("lc-pin", "ann", ["ben"]);
    const m = await post("lc-pin", "ben", "pin me");
    const pin = { kind: "pin_message" as const, room: "lc-pin", message_id: m.id, pinned: true };
    expect(refusal(await run("lc-pin", "ben", pin))).toBe("forbidden");
    const pinned = successValue<{ message: Message }>(await run("lc-pin", "ann", pin)).message;
    expect(pinned.pinned_at).not.toBeNull();
    const ben = await openSocket("/v1/ws", { token: await tokenFor("ben") });
    ben.send({ type: "pin_room", room: "lc-pin", id: "p" });
    expect(await ben.next(ofType("room_pinned"))).toMatchObject({ room: "lc-pin" });
    await runDurableObjectAlarm(roomStub("lc-pin").raw);
    const row = await env.DB.prepare(
      "SELECT m.pinned_at FROM memberships m JOIN rooms r ON r.id = m.room_id WHERE r.key = ? AND m.user_id = 'ben'",
    )
      .bind("lc-pin")
      .first<{ pinned_at: string | null }>();
    expect(row?.pinned_at).not.toBeNull();
    expect(refusal(await run("lc-pin", "zed", { kind: "pin_room", room: "lc-pin", pinned: true }))).toBe(
      "forbidden",
    );
  });
});

describe("native lifecycle frames", () => {
  it("edits, reacts, pins, reads a thread and pages history over the user socket", async () => {
    await makeRoom("lc-native", "ann", ["ben"]);
    const ann = await openSocket("/v1/ws", { token: await tokenFor("ann") });
    ann.send({ type: "subscribe", room: "lc-native" });
    await ann.next(ofType("subscribed"));
    ann.send({ type: "send", room: "lc-native", temp_id: "n1", text: "root" });
    const ack = await ann.next(ofType("ack"));
    const id = ack.id as string;
    await post("lc-native", "ben", "a reply", { parent_id: id });
    ann.send({ type: "edit", id: "e", room: "lc-native", message_id: id, text: "root!" });
    expect(await ann.next(ofType("edited"))).toMatchObject({ id: "e", message: { text: "root!" } });
    ann.send({ type: "react", id: "r", room: "lc-native", message_id: id, emoji: ":tada:" });
    expect(await ann.next(ofType("reacted"))).toMatchObject({ id: "r" });
    ann.send({ type: "pin", id: "p", room: "lc-native", message_id: id });
    expect(await ann.next(ofType("message_pinned"))).toMatchObject({ room: "lc-native" });
    ann.send({ type: "read_thread", id: "t", room: "lc-native", thread_id: id });
    expect(await ann.next(ofType("thread_read"))).toMatchObject({ thread_id: id, thread_seq: 1 });
    ann.send({ type: "history", id: "h", room: "lc-native", thread_id: id, limit: 5 });
    expect(await ann.next(ofType("history"))).toMatchObject({ id: "h", messages: [{ text: "a reply" }] });
    ann.send({ type: "delete", id: "d", room: "lc-native", message_id: { seq: 1 } });
    expect(await ann.next(ofType("deleted"))).toMatchObject({ id: "d", message_id: id });
    ann.send({ type: "react", id: "r2", room: "lc-native", message_id: id, emoji: "👍" });
    expect(await ann.next(ofType("error"))).toMatchObject({ id: "r2", code: "not_found" });
  });
});

describe("resume below the hot log", () => {
  it("replays an edit of an old message after the room was evicted and its log pruned (HOT_EVENTS=40 in tests)", async () => {
    const senders = ["s1", "s2", "s3", "s4", "s5", "s6"];
    const room = await makeRoom("lc-resume", "ann", senders);
    const postMany = async (round: string) => {
      for (const s of senders) for (let i = 0; i < 8; i++) await post("lc-resume", s, `${round}-${s}-${i}`);
    };
    await postMany("a");
    const old = successValue<Message[]>(await room.history("ann", { after: 0, limit: 3 }))[1] as Message;
    await runDurableObjectAlarm(room.raw);
    // The old message is below the hot log now: its edit reads it from D1 and flushes by the edit's seq.
    const edited = await run("lc-resume", old.sender.id, {
      kind: "edit",
      room: "lc-resume",
      message_id: old.id,
      text: "edited long ago",
    });
    const editSeq = successValue<{ message: Message }>(edited).message.changed_seq;
    await postMany("b");
    await runDurableObjectAlarm(room.raw);
    const floor = await runInDurableObject(
      room.raw,
      (_, state) => state.storage.sql.exec<{ seq: number }>("SELECT MIN(seq) AS seq FROM events").one().seq,
    );
    expect(floor).toBeGreaterThan(editSeq);
    await evictDurableObject(room.raw);
    const ben = await openSocket("/v1/ws", { token: await tokenFor("s1") });
    const since = old.seq + 1;
    ben.send({ type: "subscribe", room: "lc-resume", since });
    const subscribed = await ben.next(ofType("subscribed"));
    const head = subscribed.head as number;
    const replayed = ben.received.filter((e) => {
      const t = (e as { type: string }).type;
      return t === "message" || t === "message_updated";
    }) as { type: string; seq: number; message: Message }[];
    const update = replayed.find((e) => e.type === "message_updated");
    expect(update).toMatchObject({
      seq: editSeq,
      change: "edit",
      message: { id: old.id, text: "edited long ago" },
    });
    const seqs = replayed.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.filter((s) => s !== editSeq)).toEqual(
      Array.from({ length: head - since }, (_, i) => since + 1 + i).filter((s) => s !== editSeq),
    );
  });
});
