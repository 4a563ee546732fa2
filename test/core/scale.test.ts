import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Ack } from "../../src/domain/model";
import { fcmSendsTo, registerDevice, waitForSends } from "../helpers/push";
import { makeRoom, profile, sleep, successValue, userStub } from "../helpers/rooms";
import { ofType, openSocket, type TestSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

/**
 * Whether the room ever handed this user's object new messages while they were offline: the push decision keeps
 * its state after every such call, and nothing else writes it.
 */
async function wasNotifiedOffline(userId: string): Promise<boolean> {
  return runInDurableObject(
    userStub(userId),
    (_instance, state) => state.storage.sql.exec("SELECT 1 FROM push_state").toArray().length > 0,
  );
}

const inboxAfter = (text: string) => (m: Record<string, unknown>) =>
  m.type === "inbox" && m.room === "sc-unread" && (m.last_message as { text?: string } | null)?.text === text;

async function userSocket(userId: string): Promise<TestSocket> {
  return openSocket("/v1/ws", { token: await tokenFor(userId) });
}

describe("offline handling follows who is online", () => {
  it("does not push a member who is on a room socket, and pushes them once they leave it", async () => {
    const room = await makeRoom("sc-room-socket", "kai", ["nia"]);
    await registerDevice("nia", "nia-phone");
    const nia = await openSocket("/v1/rooms/sc-room-socket/ws", { token: await tokenFor("nia") });
    nia.send({ type: "subscribe" });
    await nia.next(ofType("subscribed"));
    await room.post(profile("kai"), { temp_id: "r1", text: "you are looking" });
    await nia.next(ofType("message"));
    await sleep(2500);
    expect(await fcmSendsTo("nia-phone")).toBe(0);
    expect(await wasNotifiedOffline("nia")).toBe(false);
    nia.close();
    await sleep(200);
    await room.post(profile("kai"), { temp_id: "r2", text: "now you are not" });
    expect(await waitForSends("nia-phone", 1)).toBe(1);
  });

  it("calls only offline members with a push device", async () => {
    const room = await makeRoom("sc-devices", "kai", ["oda", "pim"]);
    await registerDevice("oda", "oda-phone");
    await room.post(profile("kai"), { temp_id: "d1", text: "anyone?" });
    expect(await waitForSends("oda-phone", 1)).toBe(1);
    expect(await wasNotifiedOffline("oda")).toBe(true);
    expect(await wasNotifiedOffline("pim")).toBe(false);
  });
});

describe("unread derived from the read marker and the room's log", () => {
  it("is exact after a reconnect, and after the user's object is evicted", async () => {
    const room = await makeRoom("sc-unread", "ann", ["hal", "ivy"]);
    await room.post(profile("ann"), { temp_id: "u1", text: "one" });
    await room.post(profile("ann"), { temp_id: "u2", text: "two" });
    await room.markRead("hal", 2);
    await room.post(profile("ann"), { temp_id: "u3", text: "three" });
    await room.post(profile("hal"), { temp_id: "u4", text: "mine" });
    await room.post(profile("ann"), { temp_id: "u5", text: "psst", to: "ivy" });
    // Offline all along: hal's object wrote nothing for these messages.
    const hal = await userSocket("hal");
    await sleep(200);
    await room.post(profile("ann"), { temp_id: "u6", text: "four" });
    // An inbox update for what was pending when the user came online may come first: wait for the new message.
    const inbox = await hal.next(inboxAfter("four"));
    // "three" and "four": not their own message, not the whisper to ivy, not what they had read.
    expect(inbox).toMatchObject({ unread: 2, total_unread: 2, last_message: { text: "four" } });

    await evictDurableObject(userStub("hal"));
    const again = await userSocket("hal");
    await sleep(200);
    await room.post(profile("ann"), { temp_id: "u7", text: "five" });
    const rebuilt = await again.next(inboxAfter("five"));
    expect(rebuilt).toMatchObject({ unread: 3, total_unread: 3, last_message: { text: "five" } });

    await room.markRead("hal", 7);
    expect(await again.next((m) => m.type === "inbox" && m.room === "sc-unread")).toMatchObject({
      unread: 0,
      total_unread: 0,
    });
    hal.close();
    again.close();
  });

  it("keeps mentions and a deleted last message exact after a reconnect", async () => {
    const room = await makeRoom("sc-mentions", "ann", ["hal"]);
    await room.post(profile("ann"), { temp_id: "m1", text: "hey @hal" });
    await room.post(profile("ann"), { temp_id: "m2", text: "plain" });
    const gone = successValue<Ack>(await room.post(profile("ann"), { temp_id: "m3", text: "@hal look" }));
    await room.run(profile("ann"), { kind: "delete", room: "sc-mentions", message_id: gone.id });
    const hal = await userSocket("hal");
    await sleep(200);
    await room.post(profile("ann"), { temp_id: "m4", text: "again @hal" });
    const after = (m: Record<string, unknown>) =>
      m.type === "inbox" &&
      m.room === "sc-mentions" &&
      (m.last_message as { text?: string })?.text === "again @hal";
    // m1, m2 and m4 unread; m1 and m4 mention hal; m3 was deleted while hal was offline.
    expect(await hal.next(after)).toMatchObject({ unread: 3, mentions: 2, total_unread: 3 });
    const last = successValue<Ack>(await room.post(profile("ann"), { temp_id: "m5", text: "@hal last" }));
    await hal.next((m) => m.type === "inbox" && m.room === "sc-mentions" && m.unread === 4);
    hal.close();
    await sleep(200);
    await room.run(profile("ann"), { kind: "delete", room: "sc-mentions", message_id: last.id });
    await evictDurableObject(userStub("hal"));
    const again = await userSocket("hal");
    await sleep(200);
    await room.markRead("hal", 1);
    // An inbox update for the deletion may come first: wait for the one after the read.
    const rebuilt = await again.next((m) => m.type === "inbox" && m.room === "sc-mentions" && m.unread === 2);
    // The tombstone of m5 is the last message, and neither it nor m3 counts: m2 and m4 unread, m4 mentions.
    expect(rebuilt).toMatchObject({
      unread: 2,
      mentions: 1,
      last_message: { id: last.id, deleted_at: expect.any(String), text: "" },
    });
    again.close();
  });
});
