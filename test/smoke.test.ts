import { env, SELF } from "cloudflare:test";
import { expect, it } from "vitest";

it("serves health and reaches both durable objects", async () => {
  const res = await SELF.fetch("https://parley.test/health");
  expect(await res.json()).toEqual({ ok: true });
  expect(await env.ROOMS.get(env.ROOMS.idFromName("r")).hello()).toBe("room");
  expect(env.JWT_SECRET).toContain("dev");
});
