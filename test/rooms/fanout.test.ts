import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../../src/domain/events";
import { FanOut } from "../../src/rooms/fanout";
import { sleep } from "../helpers/rooms";

const typing = (user: string): RoomEvent => ({
  type: "typing",
  room: "r",
  user: { id: user, name: null, avatar: null },
  typing: true,
  at: "2026-01-01T00:00:00Z",
});

function harness(users: string[], toUser: (id: string, events: RoomEvent[]) => Promise<void>) {
  const socketBatches: RoomEvent[][] = [];
  const failed: string[] = [];
  const fanout = new FanOut({
    toSockets: (events) => socketBatches.push(events),
    attachedUsers: () => users,
    toUser,
    deliveryFailed: async (id) => {
      failed.push(id);
    },
  });
  return { fanout, socketBatches, failed };
}

describe("fan-out", () => {
  it("sends what was published in one turn as one batch, to sockets and to each attached user", async () => {
    const received = new Map<string, RoomEvent[][]>();
    const { fanout, socketBatches } = harness(["u1", "u2"], async (id, events) => {
      received.set(id, [...(received.get(id) ?? []), events]);
    });
    fanout.publish(typing("a"));
    fanout.publish(typing("b"));
    await sleep(10);
    expect(socketBatches).toHaveLength(1);
    expect(socketBatches[0]).toHaveLength(2);
    expect(received.get("u1")).toEqual([[typing("a"), typing("b")]]);
    expect(received.get("u2")).toHaveLength(1);
  });

  it("keeps one delivery in flight per user and coalesces what arrives meanwhile, in order", async () => {
    const calls: RoomEvent[][] = [];
    let release: () => void = () => {};
    const { fanout } = harness(["u1"], (_id, events) => {
      calls.push(events);
      return calls.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    fanout.publish(typing("1"));
    await sleep(5);
    fanout.publish(typing("2"));
    await sleep(30);
    fanout.publish(typing("3"));
    await sleep(30);
    expect(calls).toHaveLength(1);
    release();
    await sleep(10);
    expect(calls.map((batch) => batch.map((e) => (e.type === "typing" ? e.user.id : "")))).toEqual([
      ["1"],
      ["2", "3"],
    ]);
  });

  it("reports a failed delivery and goes on delivering to the others", async () => {
    const delivered: string[] = [];
    const { fanout, failed } = harness(["bad", "good"], async (id) => {
      if (id === "bad") throw new Error("gone");
      delivered.push(id);
    });
    fanout.publish(typing("x"));
    await sleep(10);
    expect(failed).toEqual(["bad"]);
    expect(delivered).toEqual(["good"]);
  });

  it("leaves whispers out of the batches of users they are not for", async () => {
    const seen = new Map<string, number>();
    const { fanout } = harness(["ann", "bob", "cid"], async (id, events) => {
      seen.set(id, events.length);
    });
    const whisper = {
      type: "message",
      room: "r",
      seq: 1,
      at: "2026-01-01T00:00:00Z",
      message: { sender: { id: "ann", name: null, avatar: null }, to: "bob" },
    } as unknown as RoomEvent;
    fanout.publish(whisper);
    await sleep(10);
    expect(seen.get("ann")).toBe(1);
    expect(seen.get("bob")).toBe(1);
    expect(seen.has("cid")).toBe(false);
  });
});
