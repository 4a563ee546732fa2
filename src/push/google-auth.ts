import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { firstIssue } from "../domain/validation";

/** The OAuth2 scope FCM HTTP v1 requires. */
export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
/** Google issues assertions for at most an hour. */
const ASSERTION_LIFETIME_SECONDS = 3600;
/** A cached token is renewed this long before it expires, so no request leaves with a token about to lapse. */
const RENEW_MARGIN_MS = 60_000;
const TOKEN_FETCH_TIMEOUT_MS = 10_000;

const serviceAccountSchema = z.object({
  client_email: z.string().min(1),
  private_key: z.string().includes("PRIVATE KEY"),
  private_key_id: z.string().optional(),
  token_uri: z.url({ protocol: /^https?$/ }),
});

/** The fields of a Google service-account JSON key that the token exchange uses. */
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

/** The service account cannot be used as configured; retrying will not help until an operator fixes it. */
export class ServiceAccountError extends Error {
  override name = "ServiceAccountError";
}

/** The token endpoint refused or failed; `retryAfter` is its `Retry-After` header, if any. */
export class TokenExchangeError extends Error {
  override name = "TokenExchangeError";
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfter: string | null,
  ) {
    super(message);
  }
}

export function parseServiceAccount(raw: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ServiceAccountError("FCM_SERVICE_ACCOUNT is not JSON");
  }
  const parsed = serviceAccountSchema.safeParse(json);
  if (!parsed.success) throw new ServiceAccountError(`FCM_SERVICE_ACCOUNT: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** The RS256-signed JWT that the token endpoint exchanges for an access token (RFC 7523). */
export async function signAssertion(account: ServiceAccount, nowSeconds: number): Promise<string> {
  let key: CryptoKey;
  try {
    key = await importPKCS8(account.private_key, "RS256");
  } catch {
    throw new ServiceAccountError("FCM_SERVICE_ACCOUNT private_key is not an RSA PKCS#8 PEM key");
  }
  const header = account.private_key_id
    ? { alg: "RS256", typ: "JWT", kid: account.private_key_id }
    : { alg: "RS256", typ: "JWT" };
  return new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader(header)
    .setIssuer(account.client_email)
    .setAudience(account.token_uri)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ASSERTION_LIFETIME_SECONDS)
    .sign(key);
}

interface AccessToken {
  token: string;
  expiresAt: number;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

async function exchangeAssertion(account: ServiceAccount, now: number): Promise<AccessToken> {
  const assertion = await signAssertion(account, Math.floor(now / 1000));
  const response = await fetch(account.token_uri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
    signal: AbortSignal.timeout(TOKEN_FETCH_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new TokenExchangeError(
      `token endpoint answered ${response.status}: ${text.slice(0, 200)}`,
      response.status,
      response.headers.get("retry-after"),
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success)
    throw new TokenExchangeError("token endpoint answered without an access token", 502, null);
  return { token: parsed.data.access_token, expiresAt: now + parsed.data.expires_in * 1000 };
}

/**
 * Access tokens cached in the isolate, keyed by account and token endpoint. A queue consumer isolate serves
 * many batches, so this costs one token request per isolate per hour, and concurrent callers share one
 * request. Tokens are bearer credentials, so they are never written to D1 or any other shared store.
 */
const tokens = new Map<string, AccessToken>();
const exchanges = new Map<string, Promise<AccessToken>>();

const cacheKey = (account: ServiceAccount): string => `${account.client_email} ${account.token_uri}`;

export async function getAccessToken(account: ServiceAccount, now: number = Date.now()): Promise<string> {
  const key = cacheKey(account);
  const cached = tokens.get(key);
  if (cached && cached.expiresAt - RENEW_MARGIN_MS > now) return cached.token;
  let exchange = exchanges.get(key);
  if (!exchange) {
    exchange = exchangeAssertion(account, now).finally(() => exchanges.delete(key));
    exchanges.set(key, exchange);
  }
  const fresh = await exchange;
  tokens.set(key, fresh);
  return fresh.token;
}

/** Drops the cached token after FCM refused it, so the next send fetches a fresh one. */
export function forgetAccessToken(account: ServiceAccount, refused: string): void {
  const key = cacheKey(account);
  if (tokens.get(key)?.token === refused) tokens.delete(key);
}
