import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { UserStore } from "../../src/users/user-store";
import { makeRoom, profile, sleep, userStub } from "../helpers/rooms";
import { ofType, openSocket, type TestSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";

/** Pushes the push fake received for one device token. */
async function pushesTo(deviceToken: string): Promise<number> {
  const res = await fetch(`${env.LIVE_PUSH_FAKE}/__requests`);
  const requests = (await res.json()) as { route: string; body: string }[];
  return requests.filter(
    (r) =>
      r.route === "fcm" &&
      (JSON.parse(r.body) as { message: { token: string } }).message.token === deviceToken,
  ).length;
}

async function registerDevice(userId: string, token: string): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO devices (token, user_id, platform, created_at, updated_at) VALUES (?, ?, 'android', ?, ?)",
  )
    .bind(token, userId, now, now)
    .run();
}

async function waitForPushes(deviceToken: string, expected: number): Promise<number> {
  const deadline = Date.now() + 8000;
  let seen = await pushesTo(deviceToken);
  while (seen < expected && Date.now() < deadline) {
    await sleep(100);
    seen = await pushesTo(deviceToken);
  }
  return seen;
}

/** Whether the room ever handed this user's object an offline notice (the push decision names its owner). */
async function wasNotifiedOffline(userId: string): Promise<boolean> {
  return runInDurableObject(
    userStub(userId),
    (_instance, state) => new UserStore(state.storage.sql).owner() !== null,
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
    expect(await pushesTo("nia-phone")).toBe(0);
    expect(await wasNotifiedOffline("nia")).toBe(false);
    nia.close();
    await sleep(200);
    await room.post(profile("kai"), { temp_id: "r2", text: "now you are not" });
    expect(await waitForPushes("nia-phone", 1)).toBe(1);
  });

  it("calls only offline members with a push device", async () => {
    const room = await makeRoom("sc-devices", "kai", ["oda", "pim"]);
    await registerDevice("oda", "oda-phone");
    await room.post(profile("kai"), { temp_id: "d1", text: "anyone?" });
    expect(await waitForPushes("oda-phone", 1)).toBe(1);
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
});
