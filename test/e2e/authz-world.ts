import { SignJWT } from "jose";
import { expect } from "vitest";
import NodeWebSocket from "ws";
import { baseUrl, DEV_SECRET, devToken, unique, wsUrl } from "./client";

/**
 * The fixture of the authorization matrix (`authz-matrix.test.ts`): a private group room with its cast, the
 * forged tokens of the token actors, and a socket that records everything it is sent, so that a cell can
 * check both how it was refused and that nothing it was sent gives anything away.
 */

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const sign = (claims: Record<string, unknown>, secret = DEV_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));

/** The cast of a world: `owner` made the room, `member` and `friend` are in it, the other three are not. */
export interface Cast {
  owner: string;
  member: string;
  friend: string;
  outsider: string;
  banned: string;
  removed: string;
}

export interface World {
  ids: Cast;
  /** Valid tokens of the cast. */
  tokens: Cast;
  /** Claims every token of this world carries (Swappart's `aud`). */
  claims: Record<string, unknown>;
  room: { key: string; number: number };
  /** The owner's message in the room; also the text of the owner's direct message to `member`. */
  secret: string;
  secretId: string;
  /** The secret message's whole text (its mentions included), for an edit that changes nothing. */
  secretText: string;
  /** `friend`'s whisper to `owner` in the room: seen by those two only. */
  whisper: string;
  /** The direct room of `owner` and `member`, where both have written. */
  direct: string;
}

/**
 * The token actors' credentials, each naming the room's owner: the most a forged token could reach, so a
 * refusal proves the token, not the identity, was checked.
 */
export const forgedTokens = {
  expired: (sub: string, claims: Record<string, unknown>) =>
    sign({ sub, iat: now() - 7200, exp: now() - 3600, ...claims }),
  "wrong secret": (sub: string, claims: Record<string, unknown>) =>
    sign({ sub, iat: now(), exp: now() + 3600, ...claims }, "not-the-deployment-secret"),
  "alg none": async (sub: string, claims: Record<string, unknown>) =>
    `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub, iat: now(), exp: now() + 3600, ...claims })}.`,
  "no sub": (_sub: string, claims: Record<string, unknown>) =>
    sign({ iat: now(), exp: now() + 3600, ...claims }),
  "future nbf": (sub: string, claims: Record<string, unknown>) =>
    sign({ sub, iat: now(), nbf: now() + 3600, exp: now() + 7200, ...claims }),
} satisfies Record<string, (sub: string, claims: Record<string, unknown>) => Promise<string>>;

export interface Reply {
  status: number;
  text: string;
  /** The parsed body; null when there is none (204) or it is not JSON. */
  json: Record<string, unknown> | null;
}

/** An HTTP call with a bearer token whose body, if any, is read as text (refusals and 204s alike). */
export async function request(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${baseUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A bodiless answer.
  }
  return { status: res.status, text, json };
}

async function ok(call: Promise<Reply>): Promise<Reply> {
  const res = await call;
  expect(res.status, res.text).toBeLessThan(300);
  return res;
}

/**
 * Builds a world. `ids` names users (numeric for Haraj, UUIDs for Swappart); `claims` go into every token.
 * `banned` and `removed` leave the room before the secret is written, so they never had a right to it.
 */
export async function buildWorld(newId: () => string, claims: Record<string, unknown> = {}): Promise<World> {
  const ids: Cast = {
    owner: newId(),
    member: newId(),
    friend: newId(),
    outsider: newId(),
    banned: newId(),
    removed: newId(),
  };
  const entries = await Promise.all(
    Object.entries(ids).map(async ([role, id]) => [role, await devToken(id, claims)] as const),
  );
  const tokens = Object.fromEntries(entries) as unknown as Cast;
  const key = `authz-${unique()}`;
  const made = await ok(
    request("POST", "/v1/rooms", tokens.owner, {
      key,
      kind: "group",
      private: true,
      name: "authz",
      members: [ids.member, ids.friend, ids.banned, ids.removed],
    }),
  );
  await ok(request("PUT", `/v1/rooms/${key}/bans/${ids.banned}`, tokens.owner));
  await ok(request("DELETE", `/v1/rooms/${key}/members/${ids.removed}`, tokens.owner));
  const secret = `secret-${unique()}${unique()}`;
  const whisper = `whisper-${unique()}${unique()}`;
  // Every non-member is mentioned: a mention must not reach someone who may not read the room.
  const mentions = [ids.outsider, ids.banned, ids.removed].map((id) => `@${id}`).join(" ");
  const secretText = `${secret} ${mentions}`;
  const sent = await ok(
    request("POST", `/v1/rooms/${key}/messages`, tokens.owner, { temp_id: "secret", text: secretText }),
  );
  await ok(
    request("POST", `/v1/rooms/${key}/messages`, tokens.friend, {
      temp_id: "w",
      text: whisper,
      to: ids.owner,
    }),
  );
  const direct = await ok(request("POST", "/v1/direct", tokens.owner, { user_id: ids.member }));
  const dm = String(direct.json?.key);
  await ok(request("POST", `/v1/rooms/${encodeURIComponent(dm)}/messages`, tokens.owner, { text: secret }));
  await ok(request("POST", `/v1/rooms/${encodeURIComponent(dm)}/messages`, tokens.member, { text: "ok" }));
  // The non-members open direct rooms with the owner, who never answers: no consent to presence.
  for (const who of ["outsider", "banned", "removed"] as const)
    await ok(request("POST", "/v1/direct", tokens[who], { user_id: ids.owner }));
  return {
    ids,
    tokens,
    claims,
    room: { key, number: Number(made.json?.number) },
    secret,
    secretId: String((sent.json as { message: { id: string } }).message.id),
    secretText,
    whisper,
    direct: dm,
  };
}

/** Numeric user ids (Haraj's ids are numbers), random enough that no other number in a frame matches one. */
export const numericId = (): string => `7${Math.floor(Math.random() * 1e14)}`.padEnd(15, "3");

export interface Transcript {
  /** Every text message the socket was sent, in order. */
  frames: string[];
  /** The close, or null when the socket was still open when the cell ended. */
  close: { code: number; reason: string } | null;
  /** The HTTP answer when the upgrade was refused before becoming a socket, with its body. */
  refusedUpgrade: { status: number; body: string } | null;
}

/**
 * A socket that records what it is sent; a cell's script writes frames and waits for answers. It is `ws`'s
 * client rather than the platform's, so that an upgrade refused with an HTTP answer shows its status and body.
 */
export class Recorder {
  readonly transcript: Transcript = { frames: [], close: null, refusedUpgrade: null };
  private readonly ws: NodeWebSocket;
  private wake: (() => void) | null = null;
  readonly opened: Promise<boolean>;

  constructor(path: string, protocols: string[] = []) {
    this.ws = new NodeWebSocket(wsUrl(path), protocols);
    this.ws.on("message", (data, isBinary) => {
      this.transcript.frames.push(isBinary ? new TextDecoder().decode(data as Buffer) : String(data));
      this.wake?.();
    });
    this.opened = new Promise((resolve) => {
      this.ws.on("open", () => resolve(true));
      this.ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          this.transcript.refusedUpgrade = { status: res.statusCode ?? 0, body };
          resolve(false);
        });
      });
      this.ws.on("error", () => resolve(false));
    });
    this.ws.on("close", (code, reason) => {
      this.transcript.close = { code, reason: String(reason) };
      this.wake?.();
    });
  }

  send(frame: string): void {
    if (this.ws.readyState === NodeWebSocket.OPEN) this.ws.send(frame);
  }

  /** Waits until a frame matches or the socket closes (or the time is up); true when a frame matched. */
  async until(match: (frame: string) => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.transcript.frames.length; seen++)
        if (match(this.transcript.frames[seen] as string)) return true;
      if (this.transcript.close || this.transcript.refusedUpgrade || Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits for the close (or the time to run out). */
  async closed(timeoutMs = 5000): Promise<void> {
    await this.until(() => false, timeoutMs);
  }

  end(): void {
    if (this.ws.readyState === NodeWebSocket.OPEN) this.ws.close();
    else if (this.ws.readyState === NodeWebSocket.CONNECTING) this.ws.terminate();
  }
}
