import { describe, expect, it } from "vitest";
import { makeRoom, profile } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

describe("positions carry the room's epoch", () => {
  it("returns the epoch in subscribed and acks, and accepts it back with since", async () => {
    await makeRoom("ep-1", "ann", ["bob"]);
    const ann = await openSocket("/v1/rooms/ep-1/ws", { token: await tokenFor("ann") });
    ann.send({ type: "subscribe" });
    const subscribed = await ann.next<{ epoch: string; head: number }>(ofType("subscribed"));
    expect(subscribed.epoch).toMatch(/^[0-9a-f]{16}$/);
    ann.send({ type: "send", temp_id: "e1", text: "one" });
    expect(await ann.next(ofType("ack"))).toMatchObject({ seq: 1, epoch: subscribed.epoch });
    const bob = await openSocket("/v1/rooms/ep-1/ws", { token: await tokenFor("bob") });
    bob.send({ type: "subscribe", since: 0, epoch: subscribed.epoch });
    expect(await bob.next(ofType("message"))).toMatchObject({ seq: 1 });
    expect(await bob.next(ofType("subscribed"))).toMatchObject({ head: 1, epoch: subscribed.epoch });
  });

  it("answers conflict to a position from before the room was deleted and created again", async () => {
    const first = await makeRoom("ep-2", "ann", ["bob"]);
    for (let i = 1; i <= 3; i++) await first.post(profile("ann"), { temp_id: `a${i}`, text: `m${i}` });
    const ann = await openSocket("/v1/rooms/ep-2/ws", { token: await tokenFor("ann") });
    ann.send({ type: "subscribe" });
    const old = await ann.next<{ epoch: string }>(ofType("subscribed"));
    expect((await first.destroy("ann")).ok).toBe(true);
    const again = await makeRoom("ep-2", "ann", ["bob"]);
    await again.post(profile("ann"), { temp_id: "b1", text: "new room" });
    const bob = await openSocket("/v1/rooms/ep-2/ws", { token: await tokenFor("bob") });
    bob.send({ type: "subscribe", since: 3, epoch: old.epoch });
    expect(await bob.next(ofType("error"))).toMatchObject({ code: "conflict" });
    // Without an epoch, a position beyond the new room's head is not taken for "caught up" either.
    bob.send({ type: "subscribe", since: 3 });
    expect(await bob.next(ofType("error"))).toMatchObject({ code: "conflict" });
    bob.send({ type: "subscribe", since: 0 });
    expect(await bob.next(ofType("message"))).toMatchObject({ seq: 1, message: { text: "new room" } });
    const fresh = await bob.next<{ epoch: string }>(ofType("subscribed"));
    expect(fresh.epoch).not.toBe(old.epoch);
  });
});
