import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

describe("/v1/me", () => {
  it("answers from the token's claims until a profile is stored", async () => {
    const user = uniqueId("fresh");
    const result = await call("/v1/me", {
      token: await tokenFor(user, { name: "Fresh", avatar: "https://a/f.png" }),
    });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      id: user,
      name: "Fresh",
      avatar: "https://a/f.png",
      push_enabled: true,
      created_at: null,
      updated_at: null,
      total_unread: 0,
    });
  });

  it("stores the profile from the claims, with body fields winning", async () => {
    const user = uniqueId("stored");
    const token = await tokenFor(user, { name: "Claimed", avatar: "https://a/c.png" });
    const fromClaims = await call("/v1/me", { method: "PUT", token });
    expect(fromClaims.status).toBe(200);
    expect(fromClaims.body).toMatchObject({
      id: user,
      name: "Claimed",
      avatar: "https://a/c.png",
      push_enabled: true,
    });
    expect(fromClaims.body.created_at).toEqual(expect.any(String));

    const overridden = await call("/v1/me", { method: "PUT", token, body: { name: "Chosen", avatar: null } });
    expect(overridden.body).toMatchObject({
      name: "Chosen",
      avatar: null,
      created_at: fromClaims.body.created_at,
    });
    expect((await call("/v1/me", { token })).body).toMatchObject({ name: "Chosen", avatar: null });
    const row = await env.DB.prepare("SELECT name, avatar FROM users WHERE id = ?").bind(user).first();
    expect(row).toEqual({ name: "Chosen", avatar: null });
  });

  it("refuses an invalid profile body with 400", async () => {
    const token = await tokenFor(uniqueId("bad-profile"));
    for (const body of [{ name: 12 }, { avatar: true }, { name: "x".repeat(129) }, [1]]) {
      const result = await call("/v1/me", { method: "PUT", token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(result)).toBe("bad_request");
    }
  });
});

describe("PATCH /v1/me/settings", () => {
  it("switches push off and on, creating the user when needed and keeping the profile", async () => {
    const user = uniqueId("settings");
    const token = await tokenFor(user, { name: "Set" });
    const off = await call("/v1/me/settings", { method: "PATCH", token, body: { push_enabled: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id: user, name: "Set", push_enabled: false });
    await call("/v1/me", { method: "PUT", token, body: { name: "Renamed" } });
    expect((await call("/v1/me", { token })).body).toMatchObject({ name: "Renamed", push_enabled: false });
    const on = await call("/v1/me/settings", { method: "PATCH", token, body: { push_enabled: true } });
    expect(on.body).toMatchObject({ name: "Renamed", push_enabled: true });
  });

  it("refuses a missing or mistyped switch with 400", async () => {
    const token = await tokenFor(uniqueId("settings-bad"));
    for (const body of [undefined, {}, { push_enabled: "false" }, { push_enabled: 0 }]) {
      const result = await call("/v1/me/settings", { method: "PATCH", token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe("/v1/me/devices", () => {
  it("registers, lists and removes my devices", async () => {
    const token = await tokenFor(uniqueId("devices"));
    const fcmToken = `fcm:${uniqueId("APA91b")}/x_y-z`;
    const apnsToken = "ab".repeat(32);
    const added = await call("/v1/me/devices", {
      method: "POST",
      token,
      body: { platform: "android", token: fcmToken },
    });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ token: fcmToken, platform: "android" });
    await call("/v1/me/devices", { method: "POST", token, body: { platform: "ios", token: apnsToken } });
    const again = await call("/v1/me/devices", {
      method: "POST",
      token,
      body: { platform: "android", token: fcmToken },
    });
    expect(again.body.created_at).toBe(added.body.created_at);

    const listed = await call("/v1/me/devices", { token });
    expect(listed.body.devices.map((d: { token: string }) => d.token).sort()).toEqual(
      [apnsToken, fcmToken].sort(),
    );

    const removed = await call(`/v1/me/devices/${encodeURIComponent(fcmToken)}`, { method: "DELETE", token });
    expect(removed.status).toBe(204);
    expect((await call("/v1/me/devices", { token })).body.devices).toEqual([
      expect.objectContaining({ token: apnsToken }),
    ]);
    const gone = await call(`/v1/me/devices/${encodeURIComponent(fcmToken)}`, { method: "DELETE", token });
    expect(gone.status).toBe(404);
    expect(errorCode(gone)).toBe("not_found");
  });

  it("moves a device token to its newest owner, and only its owner removes it", async () => {
    const first = await tokenFor(uniqueId("first-owner"));
    const second = await tokenFor(uniqueId("second-owner"));
    const device = uniqueId("shared-device");
    await call("/v1/me/devices", {
      method: "POST",
      token: first,
      body: { platform: "android", token: device },
    });
    await call("/v1/me/devices", { method: "POST", token: second, body: { platform: "ios", token: device } });

    expect((await call("/v1/me/devices", { token: first })).body.devices).toEqual([]);
    expect((await call("/v1/me/devices", { token: second })).body.devices).toEqual([
      expect.objectContaining({ token: device, platform: "ios" }),
    ]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM devices WHERE token = ?")
      .bind(device)
      .first("n");
    expect(rows).toBe(1);

    const byFormerOwner = await call(`/v1/me/devices/${device}`, { method: "DELETE", token: first });
    expect(byFormerOwner.status).toBe(404);
    expect((await call("/v1/me/devices", { token: second })).body.devices).toHaveLength(1);
  });

  it("refuses invalid registrations with 400", async () => {
    const token = await tokenFor(uniqueId("devices-bad"));
    for (const body of [
      undefined,
      {},
      { platform: "windows", token: "t" },
      { platform: "android", token: "" },
      { platform: "ios" },
      { platform: "ios", token: "x".repeat(4097) },
    ]) {
      const result = await call("/v1/me/devices", { method: "POST", token, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("needs a chat token", async () => {
    expect((await call("/v1/me/devices")).status).toBe(401);
    expect((await call("/v1/me/devices/x", { method: "DELETE" })).status).toBe(401);
    expect((await call("/v1/me/settings", { method: "PATCH", body: { push_enabled: true } })).status).toBe(
      401,
    );
  });
});
