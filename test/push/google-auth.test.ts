import { decodeProtectedHeader, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FCM_SCOPE,
  forgetAccessToken,
  getAccessToken,
  parseServiceAccount,
  ServiceAccountError,
  signAssertion,
  TokenExchangeError,
} from "../../src/push/google-auth";
import { fakePush, type TestServiceAccount, testServiceAccount } from "./fake-push";

const T0 = Date.parse("2026-05-01T00:00:00Z");

let keyPair: TestServiceAccount;

beforeAll(async () => {
  keyPair = await testServiceAccount("https://unused.push.test/token");
});

/** The generated key, pointed at `tokenUri`. */
function accountFor(tokenUri: string) {
  return parseServiceAccount(JSON.stringify({ ...JSON.parse(keyPair.json), token_uri: tokenUri }));
}

describe("service account", () => {
  it("reads the fields of a Google JSON key", () => {
    const account = accountFor("https://a.push.test/token");
    expect(account.client_email).toBe(keyPair.clientEmail);
    expect(account.private_key_id).toBe("test-key-1");
    expect(account.token_uri).toBe("https://a.push.test/token");
  });

  it("refuses keys it cannot use", () => {
    const good = JSON.parse(keyPair.json) as Record<string, unknown>;
    const bad = [
      "not json",
      "[]",
      JSON.stringify({ ...good, client_email: undefined }),
      JSON.stringify({ ...good, private_key: "secret" }),
      JSON.stringify({ ...good, token_uri: "not a url" }),
    ];
    for (const raw of bad)
      expect(() => parseServiceAccount(raw), raw.slice(0, 40)).toThrow(ServiceAccountError);
  });

  it("refuses a private key that is not RSA PKCS#8", async () => {
    const account = accountFor("https://a.push.test/token");
    const broken = {
      ...account,
      private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    };
    await expect(signAssertion(broken, T0 / 1000)).rejects.toThrow(ServiceAccountError);
  });
});

describe("the JWT assertion", () => {
  it("is signed RS256 by the account's key with Google's claims", async () => {
    const account = accountFor("https://a.push.test/token");
    const assertion = await signAssertion(account, T0 / 1000);
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", typ: "JWT", kid: "test-key-1" });
    const { payload } = await jwtVerify(assertion, keyPair.publicKey, {
      issuer: keyPair.clientEmail,
      audience: account.token_uri,
      currentDate: new Date(T0),
    });
    expect(payload).toEqual({
      iss: keyPair.clientEmail,
      aud: account.token_uri,
      scope: FCM_SCOPE,
      iat: T0 / 1000,
      exp: T0 / 1000 + 3600,
    });
  });

  it("omits kid when the key has no id", async () => {
    const { private_key_id: _, ...account } = accountFor("https://a.push.test/token");
    expect(decodeProtectedHeader(await signAssertion(account, T0 / 1000))).toEqual({
      alg: "RS256",
      typ: "JWT",
    });
  });
});

describe("access tokens", () => {
  it("exchanges the assertion at the token URI with the JWT-bearer grant", async () => {
    const fake = fakePush();
    const token = await getAccessToken(accountFor(fake.tokenUri), T0);
    const [request] = await fake.requests("token");
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(request?.body);
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    await jwtVerify(form.get("assertion") ?? "", keyPair.publicKey, {
      audience: fake.tokenUri,
      currentDate: new Date(T0),
    });
    expect(token).toMatch(/^access-/);
  });

  it("fetches one token for many callers, concurrent or not, until it is about to expire", async () => {
    const fake = fakePush();
    const account = accountFor(fake.tokenUri);
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => getAccessToken(account, T0)));
    const later = await getAccessToken(account, T0 + 3000 * 1000);
    expect(new Set([...concurrent, later]).size).toBe(1);
    expect(await fake.requests("token")).toHaveLength(1);

    const renewed = await getAccessToken(account, T0 + 3541 * 1000);
    expect(renewed).not.toBe(later);
    expect(await fake.requests("token")).toHaveLength(2);
  });

  it("fetches a new token once FCM refused the cached one", async () => {
    const fake = fakePush();
    const account = accountFor(fake.tokenUri);
    const first = await getAccessToken(account, T0);
    forgetAccessToken(account, "some-other-token");
    expect(await getAccessToken(account, T0)).toBe(first);
    forgetAccessToken(account, first);
    expect(await getAccessToken(account, T0)).not.toBe(first);
    expect(await fake.requests("token")).toHaveLength(2);
  });

  it("reports a failed exchange with the endpoint's Retry-After and caches nothing", async () => {
    const fake = fakePush();
    const account = accountFor(fake.tokenUri);
    await fake.script({
      route: "token",
      status: 503,
      headers: { "retry-after": "42" },
      body: { error: "busy" },
    });
    const failure = await getAccessToken(account, T0).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TokenExchangeError);
    expect(failure).toMatchObject({ status: 503, retryAfter: "42" });
    expect(await getAccessToken(account, T0)).toMatch(/^access-/);
    expect(await fake.requests("token")).toHaveLength(2);
  });

  it("refuses a token answer without an access token", async () => {
    const fake = fakePush();
    await fake.script({ route: "token", status: 200, body: { token_type: "Bearer" } });
    await expect(getAccessToken(accountFor(fake.tokenUri), T0)).rejects.toThrow(TokenExchangeError);
  });
});
