import { env } from "cloudflare:test";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { tokenFor } from "../helpers/tokens";
import { call, errorCode, uniqueId } from "./client";

const now = () => Math.floor(Date.now() / 1000);

describe("chat token refusals on authenticated routes", () => {
  it("refuses a request without a token with 401 unauthorized", async () => {
    const result = await call("/v1/me");
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("unauthorized");
  });

  it("refuses an expired token with 401 token_expired", async () => {
    const result = await call("/v1/me", { token: await tokenFor("alice", { exp: now() - 3600 }) });
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("token_expired");
  });

  it("refuses a bad signature with 401 invalid_token", async () => {
    const token = await new SignJWT({ sub: "alice", exp: now() + 600 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("not-the-dev-secret"));
    const result = await call("/v1/me", { token });
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("invalid_token");
  });

  it("refuses alg none with 401 invalid_token", async () => {
    const part = (value: object) => base64url.encode(JSON.stringify(value));
    const token = `${part({ alg: "none" })}.${part({ sub: "alice", exp: now() + 600 })}.`;
    const result = await call("/v1/me", { token });
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("invalid_token");
  });

  it("refuses an RS256 token when the server verifies with a secret (algorithm confusion)", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: "alice", exp: now() + 600 })
      .setProtectedHeader({ alg: "RS256" })
      .sign(privateKey);
    const result = await call("/v1/me", { token });
    expect(result.status).toBe(401);
    expect(errorCode(result)).toBe("invalid_token");
  });

  it("refuses a wrong issuer or audience when they are configured", async () => {
    const strict = { ...env, JWT_ISSUER: "https://issuer.test", JWT_AUDIENCE: "parley" };
    const good = await tokenFor("alice", { iss: "https://issuer.test", aud: "parley" });
    expect((await call("/v1/me", { token: good, env: strict })).status).toBe(200);
    for (const claims of [
      { iss: "https://evil.test", aud: "parley" },
      { iss: "https://issuer.test", aud: "evil" },
      {},
    ]) {
      const result = await call("/v1/me", { token: await tokenFor("alice", claims), env: strict });
      expect(result.status).toBe(401);
      expect(errorCode(result)).toBe("invalid_token");
    }
  });

  it("accepts the token in the query string", async () => {
    const user = uniqueId("query");
    const result = await call(`/v1/me?token=${await tokenFor(user)}`);
    expect(result.status).toBe(200);
    expect(result.body.id).toBe(user);
  });

  it("checks the token before the body", async () => {
    const result = await call("/v1/rooms", { method: "POST", body: { kind: "nonsense" } });
    expect(result.status).toBe(401);
  });
});
