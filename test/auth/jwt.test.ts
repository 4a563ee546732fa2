import { env } from "cloudflare:test";
import { base64url, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CLOCK_TOLERANCE_SECONDS,
  mintChatToken,
  mintingUnavailable,
  tokenFromRequest,
  verifyChatToken,
} from "../../src/auth/jwt";
import { jwtConfigOf } from "../../src/env";
import { tokenFor } from "../helpers/tokens";

const now = () => Math.floor(Date.now() / 1000);

async function signWith(key: CryptoKey | Uint8Array, alg: string, claims: JWTPayload, kid?: string) {
  return new SignJWT({ exp: now() + 600, ...claims })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .sign(key);
}

function unsigned(claims: JWTPayload): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: "none", typ: "JWT" })}.${part({ exp: now() + 600, ...claims })}.`;
}

async function expectRefused(token: string, code: string, verifyEnv = env) {
  const outcome = await verifyChatToken(jwtConfigOf(verifyEnv), token);
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) expect(outcome.error.code).toBe(code);
}

describe("verifyChatToken with the shared secret (HS256)", () => {
  it("accepts a valid token and reads sub, name, avatar and exp", async () => {
    const exp = now() + 120;
    const outcome = await verifyChatToken(
      jwtConfigOf(env),
      await tokenFor("alice", { name: "Alice", avatar: "https://a/x.png", exp }),
    );
    expect(outcome).toEqual({
      ok: true,
      value: { user: { id: "alice", name: "Alice", avatar: "https://a/x.png" }, expiresAt: exp },
    });
  });

  it("gives null name and avatar when the claims are absent", async () => {
    const outcome = await verifyChatToken(jwtConfigOf(env), await tokenFor("bob"));
    expect(outcome.ok && outcome.value.user).toEqual({ id: "bob", name: null, avatar: null });
  });

  it("refuses an expired token as token_expired", async () => {
    await expectRefused(
      await tokenFor("alice", { exp: now() - CLOCK_TOLERANCE_SECONDS - 5 }),
      "token_expired",
    );
  });

  it("tolerates a little clock skew on exp and nbf", async () => {
    expect((await verifyChatToken(jwtConfigOf(env), await tokenFor("alice", { exp: now() - 5 }))).ok).toBe(
      true,
    );
    expect((await verifyChatToken(jwtConfigOf(env), await tokenFor("alice", { nbf: now() + 5 }))).ok).toBe(
      true,
    );
  });

  it("refuses a token that is not valid yet (nbf)", async () => {
    await expectRefused(
      await tokenFor("alice", { nbf: now() + CLOCK_TOLERANCE_SECONDS + 60 }),
      "invalid_token",
    );
  });

  it("refuses a token without exp", async () => {
    const token = await new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    await expectRefused(token, "invalid_token");
  });

  it("refuses a token without sub, or with a sub that is not a user id", async () => {
    await expectRefused(
      await signWith(new TextEncoder().encode(env.JWT_SECRET), "HS256", {}),
      "invalid_token",
    );
    await expectRefused(await tokenFor("has:colon"), "invalid_token");
    await expectRefused(await tokenFor("has space"), "invalid_token");
  });

  it("refuses name or avatar claims that are not strings", async () => {
    await expectRefused(await tokenFor("alice", { name: 42 }), "invalid_token");
    await expectRefused(await tokenFor("alice", { avatar: { url: "x" } }), "invalid_token");
  });

  it("refuses a token signed with another secret", async () => {
    await expectRefused(
      await signWith(new TextEncoder().encode("another-secret"), "HS256", { sub: "alice" }),
      "invalid_token",
    );
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await tokenFor("alice")).split(".");
    const forged = base64url.encode(JSON.stringify({ sub: "mallory", exp: now() + 600 }));
    await expectRefused(`${header}.${forged}.${signature}`, "invalid_token");
  });

  it("refuses alg none", async () => {
    await expectRefused(unsigned({ sub: "alice" }), "invalid_token");
  });

  it("refuses an RS256 token (algorithm confusion) and HS512", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    await expectRefused(await signWith(privateKey, "RS256", { sub: "alice" }), "invalid_token");
    await expectRefused(
      await signWith(new TextEncoder().encode(env.JWT_SECRET), "HS512", { sub: "alice" }),
      "invalid_token",
    );
  });

  it("refuses garbage", async () => {
    await expectRefused("not-a-jwt", "invalid_token");
    await expectRefused("a.b.c", "invalid_token");
    await expectRefused("", "invalid_token");
  });

  it("checks iss and aud only when configured", async () => {
    const strict = { ...env, JWT_ISSUER: "https://issuer.test", JWT_AUDIENCE: "parley" };
    expect(
      (await verifyChatToken(jwtConfigOf(env), await tokenFor("alice", { iss: "anyone", aud: "anything" })))
        .ok,
    ).toBe(true);
    expect(
      (
        await verifyChatToken(
          jwtConfigOf(strict),
          await tokenFor("alice", { iss: "https://issuer.test", aud: "parley" }),
        )
      ).ok,
    ).toBe(true);
    await expectRefused(
      await tokenFor("alice", { iss: "https://evil.test", aud: "parley" }),
      "invalid_token",
      strict,
    );
    await expectRefused(
      await tokenFor("alice", { iss: "https://issuer.test", aud: "other" }),
      "invalid_token",
      strict,
    );
    await expectRefused(await tokenFor("alice"), "invalid_token", strict);
  });

  it("answers internal when nothing is configured to verify with", async () => {
    await expectRefused(await tokenFor("alice"), "internal", { ...env, JWT_SECRET: "" });
  });
});

describe("verifyChatToken with a JWKS URL (RS256/ES256)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Each test uses its own URL: key sets are cached per URL for the isolate's lifetime. */
  let urlCount = 0;
  function serveKeySet(keys: JWK[], status = 200) {
    urlCount += 1;
    const url = `https://idp.test/jwks-${urlCount}.json`;
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const target = input instanceof Request ? input.url : String(input);
      return target === url && status === 200 ? Response.json({ keys }) : new Response("nope", { status });
    });
    return { jwksEnv: { ...env, JWT_JWKS_URL: url }, fetchSpy };
  }

  async function keyPair(alg: "RS256" | "ES256", kid: string) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
  }

  it("accepts RS256 and ES256 tokens signed by a key of the set", async () => {
    const rsa = await keyPair("RS256", "rsa-1");
    const ec = await keyPair("ES256", "ec-1");
    const { jwksEnv, fetchSpy } = serveKeySet([rsa.jwk, ec.jwk]);
    const fromRsa = await verifyChatToken(
      jwtConfigOf(jwksEnv),
      await signWith(rsa.privateKey, "RS256", { sub: "alice" }, "rsa-1"),
    );
    const fromEc = await verifyChatToken(
      jwtConfigOf(jwksEnv),
      await signWith(ec.privateKey, "ES256", { sub: "bob", name: "Bob" }, "ec-1"),
    );
    expect(fromRsa.ok && fromRsa.value.user.id).toBe("alice");
    expect(fromEc.ok && fromEc.value.user).toEqual({ id: "bob", name: "Bob", avatar: null });
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });

  it("refuses an HS256 token, even one signed with the shared secret (algorithm confusion)", async () => {
    const rsa = await keyPair("RS256", "rsa-2");
    const { jwksEnv } = serveKeySet([rsa.jwk]);
    await expectRefused(await tokenFor("alice"), "invalid_token", jwksEnv);
  });

  it("refuses a token signed by a key outside the set", async () => {
    const trusted = await keyPair("RS256", "trusted");
    const rogue = await keyPair("RS256", "trusted");
    const { jwksEnv } = serveKeySet([trusted.jwk]);
    await expectRefused(
      await signWith(rogue.privateKey, "RS256", { sub: "alice" }, "trusted"),
      "invalid_token",
      jwksEnv,
    );
    await expectRefused(
      await signWith(rogue.privateKey, "RS256", { sub: "alice" }, "unknown-kid"),
      "invalid_token",
      jwksEnv,
    );
  });

  it("refuses alg none and expired tokens", async () => {
    const rsa = await keyPair("RS256", "rsa-3");
    const { jwksEnv } = serveKeySet([rsa.jwk]);
    await expectRefused(unsigned({ sub: "alice" }), "invalid_token", jwksEnv);
    await expectRefused(
      await signWith(rsa.privateKey, "RS256", { sub: "alice", exp: now() - 3600 }, "rsa-3"),
      "token_expired",
      jwksEnv,
    );
  });

  it("answers internal when the key set cannot be fetched", async () => {
    const rsa = await keyPair("RS256", "rsa-4");
    const { jwksEnv } = serveKeySet([rsa.jwk], 503);
    await expectRefused(
      await signWith(rsa.privateKey, "RS256", { sub: "alice" }, "rsa-4"),
      "internal",
      jwksEnv,
    );
  });
});

describe("mintChatToken", () => {
  it("mints an HS256 token that verifies to the same user", async () => {
    const minted = await mintChatToken(jwtConfigOf(env), {
      user_id: "carol",
      name: "Carol",
      avatar: "https://a/c.png",
    });
    const outcome = await verifyChatToken(jwtConfigOf(env), minted.token);
    expect(outcome.ok && outcome.value.user).toEqual({
      id: "carol",
      name: "Carol",
      avatar: "https://a/c.png",
    });
    expect(outcome.ok && new Date(outcome.value.expiresAt * 1000).toISOString()).toBe(minted.expires_at);
  });

  it("caps the lifetime at TOKEN_TTL_SECONDS and honours a shorter one", async () => {
    const capped = await mintChatToken(jwtConfigOf({ ...env, TOKEN_TTL_SECONDS: "60" }), {
      user_id: "carol",
      ttl: 999_999,
    });
    const short = await mintChatToken(jwtConfigOf(env), { user_id: "carol", ttl: 10 });
    const secondsLeft = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;
    expect(secondsLeft(capped.expires_at)).toBeLessThanOrEqual(60);
    expect(secondsLeft(capped.expires_at)).toBeGreaterThan(50);
    expect(secondsLeft(short.expires_at)).toBeLessThanOrEqual(10);
  });

  it("sets iss and aud when configured, so its tokens pass the same checks", async () => {
    const strict = { ...env, JWT_ISSUER: "https://issuer.test", JWT_AUDIENCE: "parley" };
    const minted = await mintChatToken(jwtConfigOf(strict), { user_id: "carol" });
    expect((await verifyChatToken(jwtConfigOf(strict), minted.token)).ok).toBe(true);
  });

  it("is unavailable without a secret or when a JWKS URL is configured", async () => {
    expect(mintingUnavailable(jwtConfigOf(env))).toBeNull();
    expect(mintingUnavailable(jwtConfigOf({ ...env, JWT_SECRET: "" }))).toMatch(/JWT_SECRET/);
    expect(mintingUnavailable(jwtConfigOf({ ...env, JWT_JWKS_URL: "https://idp.test/jwks" }))).toMatch(
      /JWT_JWKS_URL/,
    );
    await expect(
      mintChatToken(jwtConfigOf({ ...env, JWT_SECRET: "" }), { user_id: "carol" }),
    ).rejects.toThrow(/JWT_SECRET/);
  });
});

describe("tokenFromRequest", () => {
  it("reads the bearer header first, then the token query parameter", () => {
    const both = new Request("https://p.test/v1/me?token=from-query", {
      headers: { authorization: "Bearer from-header" },
    });
    expect(tokenFromRequest(both)).toBe("from-header");
    expect(tokenFromRequest(new Request("https://p.test/v1/me?token=from-query"))).toBe("from-query");
    expect(
      tokenFromRequest(new Request("https://p.test/", { headers: { authorization: "bearer lower" } })),
    ).toBe("lower");
  });

  it("finds nothing in other schemes, empty values or no credentials", () => {
    expect(
      tokenFromRequest(new Request("https://p.test/", { headers: { authorization: "Basic abc" } })),
    ).toBeNull();
    expect(tokenFromRequest(new Request("https://p.test/?token="))).toBeNull();
    expect(tokenFromRequest(new Request("https://p.test/"))).toBeNull();
  });
});
