/**
 * A fake of the remote parties the push consumer talks to: Google's OAuth2 token endpoint, FCM HTTP v1 and
 * webhook receivers. It runs in the Vitest process: vitest.config.ts makes it the Workers' outbound service,
 * and it answers every request to a `*.push.test` host (RFC 2606 reserves `.test`, so no such request can
 * reach a real host). The first host label names a scenario with its own recorded requests and scripted
 * replies, so tests and test files never see each other's traffic.
 *
 * Routes on https://<scenario>.push.test:
 *   POST /token                                  OAuth2 JWT-bearer exchange (RFC 7523)
 *   POST /v1/projects/<project>/messages:send    FCM send: needs a bearer token this scenario issued
 *   POST /hooks/<name>                           webhook receiver
 *   POST /__script                               appends scripted replies (a JSON array of ScriptedReply)
 *   GET  /__requests                             the recorded requests, oldest first
 *
 * For local development it also runs as a server (`npx node test/push/fake-push-service.ts [port]`, see
 * docs/push.md): every request, whatever its host, then belongs to one scenario.
 */

export const FAKE_PUSH_DOMAIN = "push.test";

export type FakeRoute = "token" | "fcm" | "webhook";

export interface RecordedRequest {
  route: FakeRoute;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The next request of `route` (for FCM, optionally only the one to `device_token`) gets this answer. */
export interface ScriptedReply {
  route: FakeRoute;
  device_token?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The part of an incoming request the fake reads; Miniflare's request objects have it. */
export interface OutboundRequest {
  url: string;
  method: string;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

interface Scenario {
  requests: RecordedRequest[];
  script: ScriptedReply[];
  issuedTokens: Set<string>;
  sent: number;
}

const scenarios = new Map<string, Scenario>();

function scenarioOf(name: string): Scenario {
  let scenario = scenarios.get(name);
  if (!scenario) {
    scenario = { requests: [], script: [], issuedTokens: new Set(), sent: 0 };
    scenarios.set(name, scenario);
  }
  return scenario;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

function routeOf(method: string, path: string): FakeRoute | null {
  if (method !== "POST") return null;
  if (path === "/token") return "token";
  if (/^\/v1\/projects\/[^/]+\/messages:send$/.test(path)) return "fcm";
  if (path.startsWith("/hooks/")) return "webhook";
  return null;
}

function deviceTokenOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { message?: { token?: string } }).message?.token;
  } catch {
    return undefined;
  }
}

function takeScripted(scenario: Scenario, route: FakeRoute, body: string): ScriptedReply | undefined {
  const token = route === "fcm" ? deviceTokenOf(body) : undefined;
  const index = scenario.script.findIndex(
    (r) => r.route === route && (r.device_token === undefined || r.device_token === token),
  );
  return index < 0 ? undefined : scenario.script.splice(index, 1)[0];
}

function issueToken(scenarioName: string, scenario: Scenario, form: URLSearchParams): Response {
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer" || !form.get("assertion")) {
    return json(400, { error: "invalid_grant" });
  }
  const token = `access-${scenarioName}-${scenario.issuedTokens.size + 1}`;
  scenario.issuedTokens.add(token);
  return json(200, { access_token: token, expires_in: 3600, token_type: "Bearer" });
}

function acceptFcm(scenario: Scenario, path: string, authorization: string | undefined): Response {
  const token = authorization?.replace(/^Bearer /, "");
  if (!token || !scenario.issuedTokens.has(token)) {
    return json(401, { error: { code: 401, status: "UNAUTHENTICATED", message: "bad access token" } });
  }
  scenario.sent += 1;
  const project = path.split("/")[3];
  return json(200, { name: `projects/${project}/messages/${scenario.sent}` });
}

/** Answers one request to the fake within scenario `name`. */
export async function serveFakePush(name: string, request: OutboundRequest): Promise<Response> {
  const url = new URL(request.url);
  const scenario = scenarioOf(name);
  if (request.method === "GET" && url.pathname === "/__requests") return json(200, scenario.requests);
  const body = await request.text();
  if (request.method === "POST" && url.pathname === "/__script") {
    scenario.script.push(...(JSON.parse(body) as ScriptedReply[]));
    return json(200, { scripted: scenario.script.length });
  }
  const route = routeOf(request.method, url.pathname);
  if (!route) return json(404, { error: `the push fake has no ${request.method} ${url.pathname}` });

  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key.toLowerCase()] = value;
  });
  scenario.requests.push({ route, method: request.method, path: url.pathname, headers, body });

  const scripted = takeScripted(scenario, route, body);
  if (scripted) return json(scripted.status, scripted.body ?? {}, scripted.headers);
  if (route === "token") return issueToken(name, scenario, new URLSearchParams(body));
  if (route === "fcm") return acceptFcm(scenario, url.pathname, headers.authorization);
  return new Response("ok");
}

/**
 * The outbound service for tests: `*.push.test` is answered by the fake; any other host is fetched for real,
 * exactly as it would be without an outbound service.
 */
export async function outboundForTests(request: OutboundRequest): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname.endsWith(`.${FAKE_PUSH_DOMAIN}`)) {
    return serveFakePush(url.hostname.slice(0, -FAKE_PUSH_DOMAIN.length - 1), request);
  }
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => {
    headers.push([name, value]);
  });
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return fetch(request.url, {
    method: request.method,
    headers,
    body: hasBody ? await request.arrayBuffer() : undefined,
    redirect: "manual",
  });
}

/** A PKCS#8 PEM RSA key and the service-account JSON around it, for a local `.dev.vars`. */
async function localServiceAccount(tokenUri: string): Promise<string> {
  const { privateKey } = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", privateKey)) as ArrayBuffer);
  const base64 = btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n");
  const pem = `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----\n`;
  return JSON.stringify({
    client_email: "fake@parley-local.iam.gserviceaccount.com",
    private_key: pem,
    token_uri: tokenUri,
  });
}

async function serveLocally(port: number): Promise<void> {
  const { createServer } = await import("node:http");
  const origin = `http://localhost:${port}`;
  createServer((incoming, outgoing) => {
    const chunks: Uint8Array[] = [];
    incoming.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    incoming.on("end", async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers))
        if (typeof value === "string") headers.set(name, value);
      const method = incoming.method ?? "GET";
      const body = method === "GET" || method === "HEAD" ? undefined : new Blob(chunks);
      const request = new Request(`${origin}${incoming.url ?? "/"}`, { method, headers, body });
      const response = await serveFakePush("local", request);
      if (method === "POST")
        console.log(`${method} ${incoming.url} -> ${response.status}\n${Buffer.concat(chunks)}\n`);
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    });
  }).listen(port, async () => {
    console.log(`fake FCM, token endpoint and webhook receiver on ${origin}; add to .dev.vars:\n`);
    console.log(`FCM_BASE_URL="${origin}"\nFCM_PROJECT_ID="parley-local"`);
    console.log(`FCM_SERVICE_ACCOUNT='${await localServiceAccount(`${origin}/token`)}'`);
    console.log(`WEBHOOK_URLS="${origin}/hooks/local"\nWEBHOOK_SECRET="parley-local-webhook-secret"\n`);
  });
}

if ((import.meta as { main?: boolean }).main) await serveLocally(Number(process.argv[2] ?? 9099));
