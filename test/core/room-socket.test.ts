import { describe, expect, it } from "vitest";
import { makeRoom, profile } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

describe("room-scoped native socket", () => {
  it("subscribes, sends with ack, and fans out in order", async () => {
    await makeRoom("rs-1", "alice", ["bob"]);
    const alice = await openSocket("/v1/rooms/rs-1/ws", { token: await tokenFor("alice") });
    const bob = await openSocket("/v1/rooms/rs-1/ws", { token: await tokenFor("bob") });
    alice.send({ type: "subscribe", id: "s1" });
    bob.send({ type: "subscribe", id: "s2" });
    await alice.next(ofType("subscribed"));
    await bob.next(ofType("subscribed"));
    alice.send({ type: "send", temp_id: "t1", text: "hello" });
    const ack = await alice.next(ofType("ack"));
    expect(ack).toMatchObject({ temp_id: "t1", seq: 1, duplicate: false });
    const got = await bob.next(ofType("message"));
    expect(got).toMatchObject({ seq: 1, message: { text: "hello", sender: { id: "alice" } } });
    alice.send({ type: "send", temp_id: "t1", text: "hello" });
    expect(await alice.next(ofType("ack"))).toMatchObject({ temp_id: "t1", seq: 1, duplicate: true });
  });

  it("resumes with since: exactly the gap, then live", async () => {
    const stub = await makeRoom("rs-2", "alice", ["bob"]);
    for (let i = 1; i <= 5; i++) await stub.post(profile("alice"), { temp_id: `p${i}`, text: `m${i}` });
    const bob = await openSocket("/v1/rooms/rs-2/ws", { token: await tokenFor("bob") });
    bob.send({ type: "subscribe", since: 2 });
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) seqs.push(((await bob.next(ofType("message"))) as { seq: number }).seq);
    expect(seqs).toEqual([3, 4, 5]);
    expect(await bob.next(ofType("subscribed"))).toMatchObject({ head: 5 });
    await stub.post(profile("alice"), { temp_id: "p6", text: "m6" });
    expect(await bob.next(ofType("message"))).toMatchObject({ seq: 6 });
  });

  it("refuses non-members and bad tokens", async () => {
    await makeRoom("rs-3", "alice");
    const res = await openSocket("/v1/rooms/rs-3/ws", { token: await tokenFor("mallory") }).catch(
      (e: Error) => e,
    );
    expect(String(res)).toContain("403");
    const bad = await openSocket("/v1/rooms/rs-3/ws", { token: "not-a-token" });
    expect((await bad.closed).code).toBe(4002);
  });
});
