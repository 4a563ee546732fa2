import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

describe("the error shape", () => {
  it("answers unknown routes with 404 not_found", async () => {
    const result = await call("/v1/nowhere");
    expect(result.status).toBe(404);
    expect(result.body).toEqual({ error: { code: "not_found", message: "no route for GET /v1/nowhere" } });
    expect((await call("/v1/me/devices", { method: "PATCH" })).status).toBe(404);
  });

  it("refuses a body over MAX_FRAME_BYTES with 413 payload_too_large", async () => {
    const token = await tokenFor(uniqueId("big"));
    const small = { ...env, MAX_FRAME_BYTES: "100" };
    const result = await call("/v1/me", {
      method: "PUT",
      token,
      env: small,
      body: { name: "x".repeat(200) },
    });
    expect(result.status).toBe(413);
    expect(errorCode(result)).toBe("payload_too_large");
    const atDefault = await call("/v1/me", { method: "PUT", token, body: { name: "x".repeat(70_000) } });
    expect(atDefault.status).toBe(413);
  });

  it("refuses malformed JSON and other media types with 400 bad_request", async () => {
    const token = await tokenFor(uniqueId("json"));
    const malformed = await call("/v1/me/settings", { method: "PATCH", token, body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed)).toBe("bad_request");
    const text = await call("/v1/me/settings", {
      method: "PATCH",
      token,
      body: "push_enabled=true",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(400);
    expect(errorCode(text)).toBe("bad_request");
  });

  it("names the failing field of an invalid body", async () => {
    const token = await tokenFor(uniqueId("field"));
    const result = await call("/v1/me/settings", { method: "PATCH", token, body: { push_enabled: "yes" } });
    expect(result.status).toBe(400);
    expect(result.body.error.message).toMatch(/^push_enabled: /);
  });

  it("answers a failure inside a handler with 500 internal and no internals", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const token = await tokenFor(uniqueId("boom"));
    const broken = { ...env, DB: undefined as unknown as D1Database };
    const result = await call("/v1/me", { token, env: broken });
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ error: { code: "internal", message: "internal error" } });
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });
});

describe("GET /v1/openapi.json", () => {
  const routes: [string, string][] = [
    ["post", "/v1/tokens"],
    ["post", "/v1/dev/tokens"],
    ["get", "/v1/me"],
    ["put", "/v1/me"],
    ["patch", "/v1/me/settings"],
    ["post", "/v1/me/devices"],
    ["get", "/v1/me/devices"],
    ["delete", "/v1/me/devices/{token}"],
    ["post", "/v1/rooms"],
    ["get", "/v1/rooms"],
    ["get", "/v1/rooms/{id}"],
    ["patch", "/v1/rooms/{id}"],
    ["delete", "/v1/rooms/{id}"],
    ["post", "/v1/rooms/{id}/members"],
    ["delete", "/v1/rooms/{id}/members/{user}"],
    ["post", "/v1/rooms/{id}/leave"],
    ["put", "/v1/rooms/{id}/members/{user}/role"],
    ["put", "/v1/rooms/{id}/bans/{user}"],
    ["delete", "/v1/rooms/{id}/bans/{user}"],
    ["put", "/v1/rooms/{id}/mute"],
    ["post", "/v1/direct"],
    ["get", "/v1/rooms/{id}/messages"],
    ["post", "/v1/rooms/{id}/messages"],
    ["patch", "/v1/rooms/{id}/messages/{message}"],
    ["delete", "/v1/rooms/{id}/messages/{message}"],
    ["put", "/v1/rooms/{id}/messages/{message}/reactions/{emoji}"],
    ["delete", "/v1/rooms/{id}/messages/{message}/reactions/{emoji}"],
    ["put", "/v1/rooms/{id}/messages/{message}/pin"],
    ["delete", "/v1/rooms/{id}/messages/{message}/pin"],
    ["put", "/v1/rooms/{id}/read"],
    ["put", "/v1/rooms/{id}/threads/{message}/read"],
    ["put", "/v1/rooms/{id}/pin"],
    ["delete", "/v1/rooms/{id}/pin"],
    ["get", "/v1/me/notifications"],
    ["post", "/v1/me/notifications/read"],
    ["get", "/v1/search"],
    ["post", "/v1/admin/push/dead-letters/replay"],
    ["post", "/v1/admin/users/{user}/disconnect"],
    ["post", "/v1/admin/users/{user}/ban"],
    ["delete", "/v1/admin/users/{user}/ban"],
  ];

  it("describes every route of API v1 in OpenAPI 3.1 without a token", async () => {
    const { status, body } = await call("/v1/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(body.servers).toEqual([{ url: "https://parley.test" }]);
    const described = Object.entries(body.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(described.sort()).toEqual(routes.map(([method, path]) => `${method} ${path}`).sort());
  });

  it("declares the security schemes and which routes need which", async () => {
    const { body } = await call("/v1/openapi.json");
    expect(Object.keys(body.components.securitySchemes).sort()).toEqual([
      "apiSecret",
      "chatToken",
      "chatTokenQuery",
    ]);
    expect(body.components.securitySchemes.chatToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(body.paths["/v1/tokens"].post.security).toEqual([{ apiSecret: [] }]);
    expect(body.paths["/v1/dev/tokens"].post.security).toBeUndefined();
    expect(body.paths["/v1/admin/push/dead-letters/replay"].post.security).toEqual([{ apiSecret: [] }]);
    for (const [method, path] of routes.filter(
      ([, path]) => !path.includes("tokens") && !path.includes("admin"),
    )) {
      expect(body.paths[path][method].security, `${method} ${path}`).toEqual([
        { chatToken: [] },
        { chatTokenQuery: [] },
      ]);
    }
  });

  it("documents bodies, parameters and the error shape from the validating schemas", async () => {
    const { body } = await call("/v1/openapi.json");
    const schemas = body.components.schemas;
    expect(schemas.Error.properties.error.properties.code.enum).toContain("payload_too_large");
    expect(schemas.RoomCreation.properties.kind.enum).toEqual(["group", "live"]);
    expect(schemas.Message.type).toBe("object");
    expect(schemas.RoomListItem.properties.last_message.anyOf).toContainEqual({ type: "null" });
    expect(schemas.DeviceRegistration.required.sort()).toEqual(["platform", "token"]);
    const history = body.paths["/v1/rooms/{id}/messages"].get;
    expect(history.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual([
      "path:id",
      "query:after",
      "query:before",
      "query:limit",
      "query:thread",
    ]);
    expect(history.responses["403"].content["application/json"].schema.$ref).toBe(
      "#/components/schemas/Error",
    );
    const send = body.paths["/v1/rooms/{id}/messages"].post;
    expect(send.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toContain(
      "header:idempotency-key",
    );
    expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(["200", "201", "413", "429"]));
    expect(schemas.Message.required).toEqual(expect.arrayContaining(["version", "reactions", "thread"]));
  });
});

describe("the Worker entry point", () => {
  it("serves the HTTP API", async () => {
    const response = await worker.fetch(
      new Request("https://parley.test/health"),
      env,
      createExecutionContext(),
    );
    expect(await response.json()).toEqual({ ok: true });
  });
});
