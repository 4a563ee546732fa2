/** The HTTP API (docs/http-api.md), same origin as the page. */

/** An error answer: `code` is the API's error code (`unauthorized`, `forbidden`, …) or `network`. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** The token is missing, wrong or expired: only signing in again helps. */
  get signedOut() {
    return this.status === 401;
  }
}

async function call(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("network", "the server cannot be reached", 0);
  }
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error;
    throw new ApiError(
      error?.code ?? "internal",
      error?.message ?? `HTTP ${response.status}`,
      response.status,
    );
  }
  return payload;
}

const room = (key) => `/v1/rooms/${encodeURIComponent(key)}`;

/** Mints a token with the dev endpoint (exists only where DEV_MODE is on). */
export const mintDevToken = (userId, name) =>
  call("POST", "/v1/dev/tokens", { body: { user_id: userId, name: name || null } });

/** The API, authenticated by one chat token. */
export function apiFor(token) {
  const as = (method, path, body) => call(method, path, { token, body });
  return {
    me: () => as("GET", "/v1/me"),
    storeProfile: () => as("PUT", "/v1/me", {}),
    rooms: () => as("GET", "/v1/rooms?limit=100"),
    room: (key) => as("GET", room(key)),
    createRoom: (name, members) => as("POST", "/v1/rooms", { kind: "group", name, members }),
    direct: (userId) => as("POST", "/v1/direct", { user_id: userId }),
    addMember: (key, userId) => as("POST", `${room(key)}/members`, { user_ids: [userId] }),
    messages: (key, { before, limit }) =>
      as("GET", `${room(key)}/messages?limit=${limit}${before ? `&before=${before}` : ""}`),
    /** The replies in the thread of root message `rootId`, oldest first. */
    thread: (key, rootId, limit) =>
      as("GET", `${room(key)}/messages?limit=${limit}&thread=${encodeURIComponent(rootId)}`),
    search: (q, cursor) =>
      as("GET", `/v1/search?${new URLSearchParams({ q, limit: "20", ...(cursor ? { cursor } : {}) })}`),
    notifications: (before) =>
      as("GET", `/v1/me/notifications?limit=20${before ? `&before=${encodeURIComponent(before)}` : ""}`),
  };
}
