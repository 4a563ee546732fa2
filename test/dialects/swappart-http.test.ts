import { createExecutionContext, env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { swappartRoutes } from "../../src/dialects/swappart/http";
import { roomKeyOfNumber } from "../../src/storage/room-index";
import { roomStub } from "../helpers/rooms";
import { tokenFor } from "../helpers/tokens";

/**
 * The Swappart room API in-process, with real D1 and room objects, for users signed in with Supabase: tokens
 * are HS256 with the project secret, for the audience `authenticated`, with UUID subjects.
 */

const SUPABASE_SECRET = "supabase-test-project-secret";
const supabaseEnv = { ...env, SUPABASE_JWT_SECRET: SUPABASE_SECRET };

async function supabaseToken(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub,
    aud: "authenticated",
    role: "authenticated",
    iat: now,
    exp: now + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(SUPABASE_SECRET));
}

interface User {
  id: string;
  token: string;
}

async function user(): Promise<User> {
  const id = crypto.randomUUID();
  return { id, token: await supabaseToken(id) };
}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON response fields
  body: any;
}

/** One call to the routes, with the Supabase settings unless `bindings` says otherwise. */
async function call(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  bindings: typeof env = supabaseEnv,
): Promise<Answer> {
  const headers = new Headers({ "content-type": "application/json" });
  if (token) headers.set("authorization", `Bearer ${token}`);
  const request = new Request(`https://parley.test${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const response = await swappartRoutes.fetch(request, bindings, createExecutionContext());
  return { status: response.status, body: await response.json() };
}

async function createRoom(owner: User, users: string[], apartment_id: number | null = 7): Promise<number> {
  const made = await call("POST", "/rooms", owner.token, { users, apartment_id });
  expect(made).toEqual({ status: 200, body: { error_message: null, data: expect.any(Number) } });
  return made.body.data;
}

const refusal = (status: number) => ({
  status,
  body: { error_message: expect.any(String), data: null },
});

describe("Swappart room API", () => {
  it("refuses requests without a Supabase token, with a foreign token, or a non-UUID subject", async () => {
    expect(await call("GET", "/rooms", null)).toEqual(refusal(401));
    const foreign = await new SignJWT({ sub: crypto.randomUUID(), aud: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another project"));
    expect(await call("GET", "/rooms", foreign)).toEqual(refusal(401));
    expect(await call("GET", "/rooms", await supabaseToken("alice"))).toEqual(refusal(401));
    expect(await call("GET", "/rooms", await supabaseToken(crypto.randomUUID(), { aud: "anon" }))).toEqual(
      refusal(401),
    );
  });

  it("verifies tokens with the deployment's own JWT settings when no Supabase one is set", async () => {
    const id = crypto.randomUUID();
    const ownToken = await tokenFor(id);
    expect(await call("GET", "/rooms", ownToken, undefined, env)).toEqual({
      status: 200,
      body: { error_message: null, data: [] },
    });
    expect(await call("GET", "/rooms", ownToken)).toEqual(refusal(401));
    expect(await call("GET", "/rooms", await tokenFor("not-a-uuid"), undefined, env)).toEqual(refusal(401));
  });

  it("creates a room, lists it for every participant and details it with its messages", async () => {
    const [owner, tenant] = [await user(), await user()];
    const roomId = await createRoom(owner, [tenant.id, owner.id], 12);

    const mine = await call("GET", "/rooms", owner.token);
    expect(mine).toEqual({
      status: 200,
      body: {
        error_message: null,
        data: [
          {
            room_id: roomId,
            participants_id: expect.arrayContaining([owner.id, tenant.id]),
            apartment_id: 12,
            is_owner: true,
            last_message: null,
          },
        ],
      },
    });
    expect((await call("GET", "/rooms", tenant.token)).body.data).toMatchObject([
      { room_id: roomId, is_owner: false },
    ]);

    const details = await call("GET", `/rooms/${roomId}`, tenant.token);
    const room = {
      apartment_id: 12,
      created_at: expect.any(String),
      messages: [],
      owner_id: owner.id,
      participants_id: expect.arrayContaining([owner.id, tenant.id]),
      room_id: roomId,
    };
    expect(details).toEqual({ status: 200, body: { ...room, error_message: null, data: room } });
  });

  it("answers bad bodies and room ids with 400, unknown rooms with 404, strangers with 403", async () => {
    const [owner, stranger] = [await user(), await user()];
    expect(await call("POST", "/rooms", owner.token, "{not json")).toEqual(refusal(400));
    expect(await call("POST", "/rooms", owner.token, { users: ["bob"] })).toEqual(refusal(400));
    expect(await call("GET", "/rooms/abc", owner.token)).toEqual(refusal(400));
    expect(await call("GET", "/rooms/999999999", owner.token)).toEqual(refusal(404));
    expect(await call("PATCH", "/rooms", owner.token, {})).toEqual(refusal(404));
    const roomId = await createRoom(owner, []);
    expect(await call("GET", `/rooms/${roomId}`, stranger.token)).toEqual(refusal(403));
    expect(await call("DELETE", `/rooms/${roomId}`, stranger.token)).toEqual(refusal(403));
  });

  it("lets the owner add and remove participants; others may only leave", async () => {
    const [owner, tenant, friend] = [await user(), await user(), await user()];
    const roomId = await createRoom(owner, [tenant.id]);
    const participants = async () =>
      (await call("GET", `/rooms/${roomId}`, owner.token)).body.data.participants_id;

    expect(
      await call("PUT", "/rooms", tenant.token, {
        room_id: roomId,
        users_to_add: [friend.id],
        users_to_remove: [],
      }),
    ).toEqual(refusal(403));
    expect(
      await call("PUT", "/rooms", owner.token, {
        room_id: roomId,
        users_to_add: [friend.id],
        users_to_remove: [],
      }),
    ).toEqual({ status: 200, body: { error_message: null, data: null } });
    expect(await participants()).toEqual(expect.arrayContaining([owner.id, tenant.id, friend.id]));

    expect(
      await call("PUT", "/rooms", tenant.token, {
        room_id: roomId,
        users_to_add: [],
        users_to_remove: [owner.id],
      }),
    ).toEqual(refusal(403));
    expect(
      await call("PUT", "/rooms", tenant.token, {
        room_id: roomId,
        users_to_add: [],
        users_to_remove: [tenant.id],
      }),
    ).toEqual({ status: 200, body: { error_message: null, data: null } });
    expect(
      await call("PUT", "/rooms", owner.token, {
        room_id: roomId,
        users_to_add: [],
        users_to_remove: [friend.id],
      }),
    ).toMatchObject({ status: 200 });
    expect(await participants()).toEqual([owner.id]);
  });

  it("details a room's messages oldest first and lists its last message once stored", async () => {
    const [owner, tenant] = [await user(), await user()];
    const roomId = await createRoom(owner, [tenant.id]);
    const key = await roomKeyOfNumber(env.DB, roomId);
    const room = roomStub(key ?? "");
    const profile = (u: User) => ({ id: u.id, name: null, avatar: null });
    expect(await room.post(profile(tenant), { temp_id: "t-1", text: "Is it still free?" })).toMatchObject({
      ok: true,
    });
    expect(await room.post(profile(owner), { temp_id: "t-2", text: "Yes" })).toMatchObject({ ok: true });

    const { messages } = (await call("GET", `/rooms/${roomId}`, owner.token)).body.data;
    expect(messages).toEqual([
      {
        id: 1,
        room_id: roomId,
        message: "Is it still free?",
        sender_id: tenant.id,
        created_at: expect.any(String),
      },
      { id: 2, room_id: roomId, message: "Yes", sender_id: owner.id, created_at: expect.any(String) },
    ]);

    // The list reads D1, which the room writes a moment after the message.
    await expect
      .poll(async () => (await call("GET", "/rooms", tenant.token)).body.data[0]?.last_message, {
        timeout: 5000,
      })
      .toEqual({ room_id: roomId, message: "Yes", sender_id: owner.id, created_at: messages[1].created_at });
  });

  it("lets only the owner delete a room", async () => {
    const [owner, tenant] = [await user(), await user()];
    const roomId = await createRoom(owner, [tenant.id]);
    expect(await call("DELETE", `/rooms/${roomId}`, tenant.token)).toEqual(refusal(403));
    expect(await call("DELETE", `/rooms/${roomId}`, owner.token)).toEqual({
      status: 200,
      body: { error_message: null, data: null },
    });
    expect(await call("GET", `/rooms/${roomId}`, owner.token)).toEqual(refusal(404));
  });
});
