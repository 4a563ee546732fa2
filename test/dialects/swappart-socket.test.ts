import { createExecutionContext, env } from "cloudflare:test";
import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { tokenFor } from "../helpers/tokens";

const app = createApp();

/** Opens `/?token=` through the Worker with a modified environment, and reads what the server sent. */
async function upgrade(token: string, vars: Partial<typeof env>) {
  const request = new Request(`https://parley.test/?token=${token}`, { headers: { Upgrade: "websocket" } });
  const response = await app.fetch(request, { ...env, ...vars }, createExecutionContext());
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${response.status}`);
  const frames: unknown[] = [];
  const closed = new Promise<{ code: number }>((resolve) => {
    ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))));
    ws.addEventListener("close", (e) => resolve({ code: e.code }));
  });
  ws.accept();
  return { frames, closed };
}

describe("the Swappart upgrade", () => {
  it("closes with 4006 after a Disconnection when the Supabase key set cannot be fetched", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: crypto.randomUUID(), aud: "authenticated" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setExpirationTime("1h")
      .sign(privateKey);
    const socket = await upgrade(token, { SUPABASE_JWKS_URL: "https://keys.unreachable.invalid/jwks.json" });
    expect((await socket.closed).code).toBe(4006);
    expect(socket.frames).toEqual([
      { type: "Disconnection", data: { code: 4006, reason: "the signing key set could not be fetched" } },
    ]);
  });

  it("verifies with the Supabase secret when set: the deployment's own secret no longer does", async () => {
    const id = crypto.randomUUID();
    const socket = await upgrade(await tokenFor(id, { aud: "authenticated" }), {
      SUPABASE_JWT_SECRET: "another-projects-secret",
    });
    expect((await socket.closed).code).toBe(4002);
  });
});
