import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/domain/model";
import { makeRoom, profile, roomStub, sleep, successValue } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

const roomSocket = async (room: string, user: string) =>
  openSocket(`/v1/rooms/${room}/ws`, { token: await tokenFor(user, { name: user }) });

describe("limits, refusals and abuse", () => {
  it("rate-limits sends with retry_after and the temp id, so the client can resend", async () => {
    await makeRoom("lim-1", "ivy");
    const ivy = await roomSocket("lim-1", "ivy");
    const startedAt = Date.now();
    for (let i = 0; i < 40; i++) ivy.send({ type: "send", temp_id: `r${i}`, text: `n${i}` });
    const refusal = await ivy.next(ofType("error"));
    expect(refusal).toMatchObject({ code: "rate_limited" });
    expect(refusal.temp_id).toMatch(/^r\d+$/);
    expect(refusal.retry_after).toBeGreaterThanOrEqual(1);
    const acks = ivy.received.filter((m) => (m as { type: string }).type === "ack");
    // The burst of 30, plus what the bucket refilled (10 a second) while a loaded machine ran the sends.
    const refilled = Math.ceil(((Date.now() - startedAt) / 1000) * 10);
    expect(acks.length).toBeLessThanOrEqual(30 + refilled + 1);
  });

  it("answers oversize frames and text with errors, never a crash", async () => {
    await makeRoom("lim-2", "jon");
    const jon = await roomSocket("lim-2", "jon");
    jon.send({ type: "send", temp_id: "big", text: "x".repeat(70_000) });
    expect(await jon.next(ofType("error"))).toMatchObject({ code: "payload_too_large" });
    jon.send({ type: "send", temp_id: "long", text: "y".repeat(9000) });
    expect(await jon.next(ofType("error"))).toMatchObject({ temp_id: "long", code: "payload_too_large" });
    jon.send({ type: "send", temp_id: "ok", text: "still here" });
    expect(await jon.next(ofType("ack"))).toMatchObject({ temp_id: "ok", seq: 1 });
  });

  it("answers malformed and unknown frames, and closes with 4010 after repeated abuse", async () => {
    await makeRoom("lim-3", "kim");
    const kim = await roomSocket("lim-3", "kim");
    kim.send("{not json");
    expect(await kim.next(ofType("error"))).toMatchObject({ code: "bad_request" });
    kim.send({ type: "teleport", id: "q" });
    expect(await kim.next(ofType("error"))).toMatchObject({ code: "bad_request", id: "q" });
    kim.send({ type: "send", temp_id: 5, text: "wrong type" });
    await kim.next(ofType("error"));
    kim.send("[]");
    kim.send("null");
    expect((await kim.closed).code).toBe(4010);
  });

  it("stops a removed member's sockets at once and keeps others delivering", async () => {
    const room = await makeRoom("lim-4", "lea", ["max", "ned"]);
    const max = await roomSocket("lim-4", "max");
    const ned = await roomSocket("lim-4", "ned");
    max.send({ type: "subscribe" });
    ned.send({ type: "subscribe" });
    await max.next(ofType("subscribed"));
    await ned.next(ofType("subscribed"));
    expect((await room.removeMember("lea", "max")).ok).toBe(true);
    expect((await max.closed).code).toBe(4004);
    await room.post(profile("lea"), { temp_id: "after", text: "without max" });
    expect(await ned.next(ofType("message"))).toMatchObject({ message: { text: "without max" } });
    const refused = await room.post(profile("max"), { temp_id: "m", text: "hello?" });
    expect(refused).toMatchObject({ ok: false, error: { code: "forbidden" } });
  });

  it("expires typing after ten seconds without a stop", async () => {
    const room = await makeRoom("lim-5", "oli", ["pia"]);
    const pia = await roomSocket("lim-5", "pia");
    pia.send({ type: "subscribe" });
    await pia.next(ofType("subscribed"));
    await room.setTyping(profile("oli"), true);
    expect(await pia.next(ofType("typing"))).toMatchObject({ typing: true, user: { id: "oli" } });
    await sleep(10_100);
    await runDurableObjectAlarm(room.raw);
    expect(await pia.next(ofType("typing"))).toMatchObject({ typing: false, user: { id: "oli" } });
  }, 20_000);

  it("orders concurrent senders totally, with no gaps", async () => {
    const room = await makeRoom("lim-6", "quin", ["ray", "sol"]);
    const senders = ["quin", "ray", "sol"];
    const acks = await Promise.all(
      senders.flatMap((s) =>
        Array.from({ length: 8 }, (_, i) =>
          roomStub("lim-6").post(profile(s), { temp_id: `${s}${i}`, text: `${s}${i}` }),
        ),
      ),
    );
    const seqs = acks.map((a) => (a.ok ? a.value.seq : -1)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const page = await room.history("quin", { limit: 100 });
    expect(successValue<Message[]>(page).map((m) => m.seq)).toEqual(seqs);
  });

  it("counts participants and distinct visitors in join/leave events", async () => {
    await makeRoom("lim-7", "tia", ["uma"]);
    const tia = await roomSocket("lim-7", "tia");
    tia.send({ type: "subscribe" });
    expect(await tia.next(ofType("occupancy"))).toMatchObject({
      what: "join",
      participant_count: 1,
      total_user_count: 1,
    });
    const uma = await roomSocket("lim-7", "uma");
    uma.send({ type: "subscribe" });
    expect(await tia.next(ofType("occupancy"))).toMatchObject({
      what: "join",
      user: { id: "uma" },
      participant_count: 2,
      total_user_count: 2,
    });
    uma.close();
    expect(await tia.next(ofType("occupancy"))).toMatchObject({
      what: "leave",
      participant_count: 1,
      total_user_count: 2,
    });
  });

  it("keeps a whisper between its sender and recipient", async () => {
    await makeRoom("lim-8", "vic", ["wes", "xan"]);
    const wes = await roomSocket("lim-8", "wes");
    const xan = await roomSocket("lim-8", "xan");
    wes.send({ type: "subscribe" });
    xan.send({ type: "subscribe" });
    await wes.next(ofType("subscribed"));
    await xan.next(ofType("subscribed"));
    const vic = await roomSocket("lim-8", "vic");
    vic.send({ type: "send", temp_id: "w", text: "psst", to: "wes" });
    vic.send({ type: "send", temp_id: "p", text: "public" });
    expect(await wes.next(ofType("message"))).toMatchObject({ message: { text: "psst" } });
    expect(await xan.next(ofType("message"))).toMatchObject({ message: { text: "public" } });
    const page = await roomStub("lim-8").history("xan", { limit: 10 });
    expect(successValue<Message[]>(page).map((m) => m.text)).toEqual(["public"]);
  });

  it("moves read markers forward only and tells the room", async () => {
    const room = await makeRoom("lim-9", "yan", ["zed"]);
    for (let i = 0; i < 3; i++) await room.post(profile("yan"), { temp_id: `y${i}`, text: `t${i}` });
    const yan = await roomSocket("lim-9", "yan");
    yan.send({ type: "subscribe" });
    await yan.next(ofType("subscribed"));
    expect(await room.markRead("zed", 2)).toMatchObject({ ok: true, value: { seq: 2 } });
    expect(await yan.next(ofType("read"))).toMatchObject({ user_id: "zed", seq: 2, message_seqs: [1, 2] });
    expect(await room.markRead("zed", 1)).toMatchObject({ ok: true, value: { seq: 2 } });
    expect(await room.markRead("zed", 99)).toMatchObject({ ok: true, value: { seq: 3 } });
  });
});
