import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { makeRoom } from "../helpers/rooms";
import { openSocket } from "../helpers/sockets";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

const asAdmin = { authorization: `Bearer ${env.API_SECRET}` };

describe("admin: disconnect a user", () => {
  it("closes the user's room sockets too, with the reason's code", async () => {
    const [owner, key] = [uniqueId("owner"), uniqueId("room")];
    await makeRoom(key, owner);
    const socket = await openSocket(`/v1/rooms/${key}/ws`, {
      token: await tokenFor(owner),
      protocols: ["parley.v1"],
    });
    const result = await call(`/v1/admin/users/${owner}/disconnect`, {
      method: "POST",
      headers: asAdmin,
      body: { reason: "admin" },
    });
    expect(result).toMatchObject({ status: 200, body: { closed: 1 } });
    expect((await socket.closed).code).toBe(4004);
  });

  it("refuses callers without the API secret and reasons it does not know", async () => {
    const user = uniqueId("u");
    const path = `/v1/admin/users/${user}/disconnect`;
    const anonymous = await call(path, { method: "POST", body: {} });
    expect([anonymous.status, errorCode(anonymous)]).toEqual([401, "unauthorized"]);
    const asUser = await call(path, { method: "POST", body: {}, token: await tokenFor(user) });
    expect(asUser.status).toBe(401);
    const unknown = await call(path, { method: "POST", body: { reason: "afk" }, headers: asAdmin });
    expect([unknown.status, errorCode(unknown)]).toEqual([400, "bad_request"]);
    expect(await call(path, { method: "POST", body: {}, headers: asAdmin })).toMatchObject({
      status: 200,
      body: { closed: 0 },
    });
  });
});

describe("admin: service-wide ban", () => {
  it("refuses the user's HTTP requests with 403 until lifted, and lifts a ban once", async () => {
    const user = uniqueId("banned");
    const token = await tokenFor(user);
    expect((await call("/v1/me", { token })).status).toBe(200);
    const banned = await call(`/v1/admin/users/${user}/ban`, { method: "POST", headers: asAdmin, body: {} });
    expect(banned).toMatchObject({
      status: 200,
      body: { user_id: user, reason: "banned by an administrator", closed: 0 },
    });
    const again = await call(`/v1/admin/users/${user}/ban`, {
      method: "POST",
      headers: asAdmin,
      body: { reason: "spam" },
    });
    expect(again.body).toMatchObject({ reason: "spam", banned_at: banned.body.banned_at });
    const refused = await call("/v1/me", { token });
    expect([refused.status, errorCode(refused)]).toEqual([403, "forbidden"]);
    expect(refused.body.error.message).toContain("spam");

    const lift = () => call(`/v1/admin/users/${user}/ban`, { method: "DELETE", headers: asAdmin });
    expect((await lift()).status).toBe(204);
    const twice = await lift();
    expect([twice.status, errorCode(twice)]).toEqual([404, "not_found"]);
    expect((await call("/v1/me", { token })).status).toBe(200);
  });

  it("refuses a banned user's first-frame auth on a user socket", async () => {
    const user = uniqueId("banned");
    await call(`/v1/admin/users/${user}/ban`, { method: "POST", headers: asAdmin, body: { reason: "spam" } });
    const socket = await openSocket("/v1/ws", { protocols: ["parley.v1"] });
    socket.send({ type: "auth", id: "a", token: await tokenFor(user) });
    expect(await socket.next((m) => m.type === "error")).toMatchObject({
      code: "forbidden",
      message: "banned from the service: spam",
    });
  });

  it("refuses callers without the API secret and bodies that are not as documented", async () => {
    const path = `/v1/admin/users/${uniqueId("u")}/ban`;
    expect((await call(path, { method: "POST", body: {} })).status).toBe(401);
    expect((await call(path, { method: "DELETE" })).status).toBe(401);
    const empty = await call(path, { method: "POST", headers: asAdmin, body: { reason: " " } });
    expect([empty.status, errorCode(empty)]).toEqual([400, "bad_request"]);
  });
});
