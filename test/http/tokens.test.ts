import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyChatToken } from "../../src/auth/jwt";
import { jwtConfigOf } from "../../src/env";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

const apiSecret = { authorization: `Bearer ${env.API_SECRET}` };

describe("POST /v1/tokens", () => {
  it("mints a chat token with the API secret and returns the socket URLs on the request origin", async () => {
    const user = uniqueId("minted");
    const result = await call("/v1/tokens", {
      method: "POST",
      headers: apiSecret,
      body: { user_id: user, name: "Minted", avatar: "https://a/m.png" },
    });
    expect(result.status).toBe(200);
    expect(result.body.user_id).toBe(user);
    expect(result.body.urls).toEqual({
      native_user: "wss://parley.test/v1/ws",
      native_room: "wss://parley.test/v1/rooms/{room}/ws",
      stomp: "wss://parley.test/v1/rooms/{room}/stomp",
      haraj: "wss://parley.test/chat/ws",
    });
    const outcome = await verifyChatToken(jwtConfigOf(env), result.body.token);
    expect(outcome.ok && outcome.value.user).toEqual({ id: user, name: "Minted", avatar: "https://a/m.png" });
    const me = await call("/v1/me", { token: result.body.token });
    expect(me.body).toMatchObject({ id: user, name: "Minted" });
  });

  it("fills in the room and uses ws: on a plain http origin", async () => {
    const result = await call("/v1/tokens", {
      method: "POST",
      origin: "http://localhost:8787",
      headers: apiSecret,
      body: { user_id: "u1", room: "dm:1:2" },
    });
    expect(result.body.urls).toEqual({
      native_user: "ws://localhost:8787/v1/ws",
      native_room: "ws://localhost:8787/v1/rooms/dm%3A1%3A2/ws",
      stomp: "ws://localhost:8787/v1/rooms/dm%3A1%3A2/stomp",
      haraj: "ws://localhost:8787/chat/ws",
    });
  });

  it("caps the lifetime at TOKEN_TTL_SECONDS", async () => {
    const result = await call("/v1/tokens", {
      method: "POST",
      headers: apiSecret,
      body: { user_id: "u1", ttl: 10 ** 9 },
      env: { ...env, TOKEN_TTL_SECONDS: "120" },
    });
    const secondsLeft = (Date.parse(result.body.expires_at) - Date.now()) / 1000;
    expect(secondsLeft).toBeGreaterThan(100);
    expect(secondsLeft).toBeLessThanOrEqual(120);
  });

  it("refuses a missing or wrong API secret, or a chat token in its place, with 401", async () => {
    const chatToken = await tokenFor("u1");
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-secret" },
      { authorization: `Bearer ${env.API_SECRET}x` },
      { authorization: `Basic ${env.API_SECRET}` },
      { authorization: `Bearer ${chatToken}` },
    ];
    for (const headers of attempts) {
      const result = await call("/v1/tokens", { method: "POST", headers, body: { user_id: "u1" } });
      expect(result.status, JSON.stringify(headers)).toBe(401);
      expect(errorCode(result)).toBe("unauthorized");
    }
  });

  it("answers 503 when API_SECRET is unset or tokens come from a JWKS", async () => {
    const unset = await call("/v1/tokens", {
      method: "POST",
      headers: apiSecret,
      body: { user_id: "u1" },
      env: { ...env, API_SECRET: undefined },
    });
    expect(unset.status).toBe(503);
    expect(unset.body.error.message).toMatch(/API_SECRET/);
    const jwks = await call("/v1/tokens", {
      method: "POST",
      headers: apiSecret,
      body: { user_id: "u1" },
      env: { ...env, JWT_JWKS_URL: "https://idp.test/jwks.json" },
    });
    expect(jwks.status).toBe(503);
    expect(jwks.body.error.message).toMatch(/JWT_JWKS_URL/);
  });

  it("refuses invalid bodies with 400", async () => {
    for (const body of [
      undefined,
      {},
      { user_id: "" },
      { user_id: "a:b" },
      { user_id: "u1", ttl: -5 },
      { user_id: "u1", ttl: 1.5 },
      { user_id: "u1", name: 7 },
      { user_id: "u1", room: "" },
    ]) {
      const result = await call("/v1/tokens", { method: "POST", headers: apiSecret, body });
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(result)).toBe("bad_request");
    }
  });
});

describe("POST /v1/dev/tokens", () => {
  it("mints without the API secret in dev mode", async () => {
    const result = await call("/v1/dev/tokens", { method: "POST", body: { user_id: "dev-user", ttl: 60 } });
    expect(result.status).toBe(200);
    expect((await verifyChatToken(jwtConfigOf(env), result.body.token)).ok).toBe(true);
  });

  it("does not exist outside dev mode", async () => {
    for (const devMode of [undefined, "false", "1"]) {
      const result = await call("/v1/dev/tokens", {
        method: "POST",
        body: { user_id: "dev-user" },
        env: { ...env, DEV_MODE: devMode },
      });
      expect(result.status).toBe(404);
      expect(errorCode(result)).toBe("not_found");
    }
  });

  it("refuses invalid bodies with 400", async () => {
    const result = await call("/v1/dev/tokens", { method: "POST", body: { user_id: "has space" } });
    expect(result.status).toBe(400);
  });
});
