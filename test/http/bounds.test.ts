import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deepArrayText, nested } from "../helpers/deep-json";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

async function owner() {
  return tokenFor(uniqueId("owner"));
}

function expectBadRequest(result: Awaited<ReturnType<typeof call>>, message?: string) {
  expect(result.status, JSON.stringify(result.body)).toBe(400);
  expect(errorCode(result)).toBe("bad_request");
  if (message !== undefined) expect(result.body.error.message).toBe(message);
}

describe("room metadata bounds", () => {
  it("creates a room with metadata 32 levels deep and refuses 33 with 400, not 500", async () => {
    const token = await owner();
    const ok = await call("/v1/rooms", { method: "POST", token, body: { metadata: nested(32) } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const refused = await call("/v1/rooms", { method: "POST", token, body: { metadata: nested(33) } });
    expectBadRequest(refused, "metadata: nested deeper than 32 levels");
  });

  it("refuses the probe's 3,400-level metadata on create and on update", async () => {
    const token = await owner();
    const deep = `{"metadata":{"a":${deepArrayText(3400)}}}`;
    expectBadRequest(await call("/v1/rooms", { method: "POST", token, body: deep }));
    const room = await call("/v1/rooms", { method: "POST", token, body: { metadata: { topic: "x" } } });
    expect(room.status).toBe(201);
    expectBadRequest(await call(`/v1/rooms/${room.body.key}`, { method: "PATCH", token, body: deep }));
    const after = await call(`/v1/rooms/${room.body.key}`, { token });
    expect(after.body.room.metadata).toEqual({ topic: "x" });
  });

  it("refuses metadata with too many keys, items or characters on update", async () => {
    const token = await owner();
    const room = await call("/v1/rooms", { method: "POST", token, body: {} });
    const patch = (metadata: unknown) =>
      call(`/v1/rooms/${room.body.key}`, { method: "PATCH", token, body: { metadata } });
    const keys = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]));
    expectBadRequest(await patch(keys), "metadata: an object has more than 256 keys");
    expectBadRequest(
      await patch({ list: new Array(1025).fill(0) }),
      "metadata: an array has more than 1024 items",
    );
    expectBadRequest(
      await patch({ s: "x".repeat(16_385) }),
      "metadata: a string is longer than 16384 characters",
    );
    expect((await patch({ s: "x".repeat(16_384) })).status).toBe(200);
  });

  it("answers a body of 64 KiB of brackets with 400", async () => {
    const token = await owner();
    const big = { ...env, MAX_FRAME_BYTES: String(1 << 20) };
    expectBadRequest(await call("/v1/rooms", { method: "POST", token, env: big, body: "[".repeat(65_536) }));
    expectBadRequest(
      await call("/v1/rooms", { method: "POST", token, env: big, body: deepArrayText(32_768) }),
    );
  });
});

describe("Haraj HTTP bounds", () => {
  const ERR_BAD_REQUEST = { status: 400, err: "ERR_BAD_REQUEST" };

  it("answers an oversize body with a Haraj 400 packet, not the /v1 error shape", async () => {
    const token = await tokenFor("1");
    const small = { ...env, MAX_FRAME_BYTES: "100" };
    const body = { topic_id: "p2p1_2", text: "x".repeat(200) };
    const result = await call("/chat/messages", { method: "POST", token, env: small, body });
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject(ERR_BAD_REQUEST);
    expect(result.body.error).toBeUndefined();
    expect(typeof result.body.ts).toBe("string");
  });

  it("answers an oversize body with the packet before looking at the token", async () => {
    const small = { ...env, MAX_FRAME_BYTES: "100" };
    const result = await call("/chat/typing", { method: "POST", env: small, body: "x".repeat(200) });
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject(ERR_BAD_REQUEST);
  });

  it("answers a deeply nested body with a 400 packet", async () => {
    const token = await tokenFor("1");
    const body = `{"topic_id":"p2p1_2","text":"hi","extra":${deepArrayText(3400)}}`;
    const result = await call("/chat/messages", { method: "POST", token, body });
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject(ERR_BAD_REQUEST);
  });
});
