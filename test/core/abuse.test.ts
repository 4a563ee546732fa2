import { describe, expect, it } from "vitest";
import { makeRoom, profile, roomStub } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

// The test environment caps a user at 12 sockets and a room at 40 members (vitest.config.ts).
describe("abusive clients", () => {
  it("closes a user's sockets past the per-user cap with 4009, and the earlier ones keep working", async () => {
    await makeRoom("ab-1", "hog", ["peer"]);
    const token = await tokenFor("hog");
    const sockets = [];
    for (let i = 0; i < 12; i++) sockets.push(await openSocket("/v1/ws", { token }));
    const extra = await openSocket("/v1/ws", { token });
    expect(await extra.closed).toMatchObject({ code: 4009, reason: "too many connections for this user" });
    const first = sockets[0];
    if (!first) throw new Error("no socket");
    first.send({ type: "subscribe", room: "ab-1" });
    expect(await first.next(ofType("subscribed"))).toMatchObject({ room: "ab-1" });
    // Others are untouched: a peer's socket connects and sends.
    const peer = await openSocket("/v1/ws", { token: await tokenFor("peer") });
    peer.send({ type: "send", room: "ab-1", temp_id: "p1", text: "still here" });
    expect(await peer.next(ofType("ack"))).toMatchObject({ seq: 1 });
    expect(await first.next(ofType("message"))).toMatchObject({ seq: 1 });
    for (const s of sockets) s.close();
  });

  it("refuses members past the room's limit, on create and on add, and keeps the room usable", async () => {
    const many = Array.from({ length: 40 }, (_, i) => profile(`m${i}`));
    const tooBig = await roomStub("ab-2").create({
      key: "ab-2",
      kind: "group",
      creator: profile("own"),
      members: many.map((p) => ({ profile: p, role: "member" as const })),
    });
    expect(tooBig).toMatchObject({ ok: false, error: { code: "conflict" } });
    const room = await makeRoom(
      "ab-3",
      "own",
      many.slice(0, 38).map((p) => p.id),
    );
    expect(await room.addMembers("own", [{ profile: profile("x1"), role: "member" }])).toMatchObject({
      ok: true,
    });
    expect(await room.addMembers("own", [{ profile: profile("x2"), role: "member" }])).toMatchObject({
      ok: false,
      error: { code: "conflict", message: "a room has at most 40 members" },
    });
    expect((await room.post(profile("own"), { temp_id: "t", text: "full but fine" })).ok).toBe(true);
  });
});
