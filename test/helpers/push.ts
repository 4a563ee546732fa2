import { env } from "cloudflare:test";
import { sleep } from "./rooms";

/** FCM sends the push fake (behind the Worker's own FCM configuration) received for one device token. */
export async function fcmSendsTo(deviceToken: string): Promise<number> {
  const res = await fetch(`${env.LIVE_PUSH_FAKE}/__requests`);
  const requests = (await res.json()) as { route: string; body: string }[];
  return requests.filter(
    (r) =>
      r.route === "fcm" &&
      (JSON.parse(r.body) as { message: { token: string } }).message.token === deviceToken,
  ).length;
}

/** Registers an Android push device for `userId`, as `PUT /v1/me/devices` would. */
export async function registerDevice(userId: string, token: string): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO devices (token, user_id, platform, created_at, updated_at) VALUES (?, ?, 'android', ?, ?)",
  )
    .bind(token, userId, now, now)
    .run();
}

/** The sends to `deviceToken` once `expected` arrived, or what arrived within 8 s. */
export async function waitForSends(deviceToken: string, expected: number): Promise<number> {
  const deadline = Date.now() + 8000;
  let seen = await fcmSendsTo(deviceToken);
  while (seen < expected && Date.now() < deadline) {
    await sleep(100);
    seen = await fcmSendsTo(deviceToken);
  }
  return seen;
}
