import { afterEach, describe, expect, it } from "vitest";
import { api, baseUrl, devToken } from "./client";
import { type Json, nativeRoomSocket, ofType, openWire, type Wire } from "./wire";

/**
 * Seed 002 (Swappart / PLIC-Chat) against `wrangler dev`, with a client written from the seed: the room API at
 * the root paths in the `{error_message, data}` envelope, and a plain WebSocket at `/?token=`. Without Supabase
 * settings the deployment's own JWT settings verify the tokens, so the dev secret signs them, for UUID users.
 */

const open: Wire<Json>[] = [];

afterEach(() => {
  for (const wire of open.splice(0)) wire.ws.close();
});

interface SwappartUser {
  id: string;
  token: string;
}

async function swappartUser(): Promise<SwappartUser> {
  const id = crypto.randomUUID();
  return { id, token: await devToken(id, { aud: "authenticated", role: "authenticated" }) };
}

async function createRoom(
  owner: SwappartUser,
  users: string[],
  apartment_id: number | null = 3,
): Promise<number> {
  const made = await api<{ error_message: string | null; data: number }>("POST", "/rooms", owner.token, {
    users,
    apartment_id,
  });
  expect(made.status).toBe(200);
  expect(made.body.error_message).toBeNull();
  return made.body.data;
}

function socket(query: string): Wire<Json> {
  const wire = openWire<Json>(`/${query}`, (text) => [JSON.parse(text) as Json]);
  open.push(wire);
  return wire;
}

async function connected(user: SwappartUser): Promise<Wire<Json>> {
  const wire = socket(`?token=${user.token}`);
  await wire.opened;
  return wire;
}

const send = (room_id: unknown, message: unknown, message_temp_id: unknown) => ({
  type: "SendMessage",
  data: { room_id, message, message_temp_id },
});

const confirmation = (message_id: string) => (f: Json) =>
  f.type === "MessageSentConfirmation" && (f.data as Json).message_id === message_id;

/** The dev API secret from .dev.vars, for the admin API. */
const API_SECRET = "parley-dev-api-secret-not-for-production";

const admin = (method: string, path: string, body?: unknown) => api(method, path, API_SECRET, body);

/** A server-initiated close as the seed shows it: the Disconnection frame, then the close with the same code. */
async function disconnectedWith(wire: Wire<Json>, code: number): Promise<void> {
  expect(await wire.inbox.next(ofType("Disconnection"))).toEqual({
    type: "Disconnection",
    data: { code, reason: expect.any(String) },
  });
  expect((await wire.closed).code).toBe(code);
}

const envelopeOf = (status: number) => ({
  status,
  body: { error_message: expect.any(String), data: null },
});

describe("Swappart (seed 002) against wrangler dev", () => {
  it("serves the room API at the root paths in the envelope", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id], 3);
    const listed = await api("GET", "/rooms", tenant.token);
    expect(listed).toEqual({
      status: 200,
      body: {
        error_message: null,
        data: [
          {
            room_id: roomId,
            participants_id: expect.arrayContaining([owner.id, tenant.id]),
            apartment_id: 3,
            is_owner: false,
            last_message: null,
          },
        ],
      },
    });
    const unauthenticated = await fetch(`${baseUrl()}/rooms`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual({ error_message: expect.any(String), data: null });
  });

  it("still serves the web client at / to a browser", async () => {
    const page = await fetch(`${baseUrl()}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
  });

  it("closes a socket without a token with 4001, and one with a bad or expired token with 4002", async () => {
    expect((await socket("").closed).code).toBe(4001);
    const me = await swappartUser();
    expect((await socket(`?token=${me.token}x`).closed).code).toBe(4002);
    const expired = await devToken(me.id, { exp: 1_000_000 });
    expect((await socket(`?token=${expired}`).closed).code).toBe(4002);
  });

  it("confirms a sent message, delivers it to the other participants only, and confirms a resend again", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const [ownerWire, tenantWire] = [await connected(owner), await connected(tenant)];

    tenantWire.send(send(roomId, "Is the flat still available?", "front-1"));
    expect(await tenantWire.inbox.next(confirmation("front-1"))).toEqual({
      type: "MessageSentConfirmation",
      data: { confirmed: true, reason: "", message_id: "front-1" },
    });
    expect(await ownerWire.inbox.next(ofType("MessageReceived"))).toEqual({
      type: "MessageReceived",
      data: { room_id: roomId, sender_id: tenant.id, message: "Is the flat still available?" },
    });

    tenantWire.send(send(roomId, "Is the flat still available?", "front-1"));
    expect(await tenantWire.inbox.next(confirmation("front-1"))).toMatchObject({ data: { confirmed: true } });

    ownerWire.send(send(roomId, "Yes", "front-2"));
    await ownerWire.inbox.next(confirmation("front-2"));
    expect(await tenantWire.inbox.next(ofType("MessageReceived"))).toMatchObject({
      data: { message: "Yes" },
    });
    // The owner's only frames: the tenant's message and its own confirmation, never its own message back, and
    // the resend was not delivered twice.
    expect(ownerWire.inbox.items.map((f) => f.type)).toEqual(["MessageReceived", "MessageSentConfirmation"]);

    const details = await api<{ data: { messages: Json[] } }>("GET", `/rooms/${roomId}`, owner.token);
    expect(details.body.data.messages.map((m) => m.message)).toEqual(["Is the flat still available?", "Yes"]);
  });

  it("answers a malformed frame with Disconnection and close 4010", async () => {
    for (const frame of ["not json", { type: "Typing", data: {} }, send("1", "x", "t")]) {
      const wire = await connected(await swappartUser());
      wire.send(frame);
      expect(await wire.inbox.next()).toEqual({
        type: "Disconnection",
        data: { code: 4010, reason: expect.any(String) },
      });
      expect((await wire.closed).code).toBe(4010);
    }
  });

  it("refuses a send to a room the user is not in, then disconnects with 4012", async () => {
    const [owner, stranger] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, []);
    const wire = await connected(stranger);
    wire.send(send(roomId, "let me in", "front-x"));
    expect(await wire.inbox.next()).toEqual({
      type: "MessageSentConfirmation",
      data: { confirmed: false, reason: expect.any(String), message_id: "front-x" },
    });
    expect(await wire.inbox.next()).toEqual({
      type: "Disconnection",
      data: { code: 4012, reason: expect.any(String) },
    });
    expect((await wire.closed).code).toBe(4012);
  });

  it("refuses a send to a room its owner deleted, then disconnects with 4012", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const tenantWire = await connected(tenant);
    expect((await api("DELETE", `/rooms/${roomId}`, owner.token)).status).toBe(200);
    tenantWire.send(send(roomId, "still there?", "front-gone"));
    expect(await tenantWire.inbox.next(confirmation("front-gone"))).toMatchObject({
      data: { confirmed: false },
    });
    expect((await tenantWire.closed).code).toBe(4012);
  });

  it("answers GET /rooms/:id field by field with numbers as numbers", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id], 12);
    const wire = await connected(tenant);
    wire.send(send(roomId, "Hello", "front-d1"));
    await wire.inbox.next(confirmation("front-d1"));
    const details = await api<Json>("GET", `/rooms/${roomId}`, owner.token);
    const room = {
      apartment_id: 12,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      messages: [
        { id: 1, room_id: roomId, message: "Hello", sender_id: tenant.id, created_at: expect.any(String) },
      ],
      owner_id: owner.id,
      participants_id: [owner.id, tenant.id],
      room_id: roomId,
    };
    expect(details).toEqual({ status: 200, body: { ...room, error_message: null, data: room } });
    expect(typeof roomId).toBe("number");
  });

  it("refuses what the seed's API does not allow, each in the envelope", async () => {
    const [owner, tenant, stranger] = [await swappartUser(), await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    expect(await api("POST", "/rooms", owner.token, { users: ["not-a-uuid"] })).toEqual(envelopeOf(400));
    expect(await api("POST", "/rooms", owner.token, { users: [], apartment_id: 1.5 })).toEqual(
      envelopeOf(400),
    );
    expect(await api("GET", "/rooms/abc", owner.token)).toEqual(envelopeOf(400));
    expect(await api("PUT", "/rooms", owner.token, { room_id: "1" })).toEqual(envelopeOf(400));
    expect(await api("GET", "/rooms", `${owner.token}x`)).toEqual(envelopeOf(401));
    expect(await api("GET", `/rooms/${roomId}`, stranger.token)).toEqual(envelopeOf(403));
    expect(await api("DELETE", `/rooms/${roomId}`, tenant.token)).toEqual(envelopeOf(403));
    expect(
      await api("PUT", "/rooms", tenant.token, { room_id: roomId, users_to_add: [stranger.id] }),
    ).toEqual(envelopeOf(403));
    expect(await api("GET", "/rooms/999999999", owner.token)).toEqual(envelopeOf(404));
    expect(await api("DELETE", "/rooms/999999999", owner.token)).toEqual(envelopeOf(404));
    const huge = { users: [], apartment_id: null, padding: "x".repeat(70_000) };
    expect(await api("POST", "/rooms", owner.token, huge)).toEqual(envelopeOf(413));
    // A token that is not a Supabase one (its subject is not a UUID) is a 401, not a user.
    expect(await api("GET", "/rooms", await devToken("not-a-uuid"))).toEqual(envelopeOf(401));
  });

  it("answers other methods on / with a JSON 405 and HEAD / like GET", async () => {
    for (const method of ["POST", "DELETE", "PUT"]) {
      const res = await fetch(`${baseUrl()}/`, { method });
      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ error: { code: "bad_request", message: expect.any(String) } });
    }
    const head = await fetch(`${baseUrl()}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toContain("text/html");
  });

  it("closes a user's sockets with 4003, 4004, 4007 or 4009 as the admin API's reason says", async () => {
    const reasons = { user: 4003, admin: 4004, shutdown: 4007, other: 4009 };
    // In parallel: a close the server starts outside a client frame completes on the client only after ~10 s.
    await Promise.all(
      Object.entries(reasons).map(async ([reason, code]) => {
        const me = await swappartUser();
        const wire = await connected(me);
        expect(await admin("POST", `/v1/admin/users/${me.id}/disconnect`, { reason })).toEqual({
          status: 200,
          body: { closed: 1 },
        });
        await disconnectedWith(wire, code);
      }),
    );
    const me = await swappartUser();
    expect((await api("POST", `/v1/admin/users/${me.id}/disconnect`, me.token, {})).status).toBe(401);
    expect((await admin("POST", `/v1/admin/users/${me.id}/disconnect`, { reason: "afk" })).status).toBe(400);
  });

  it("bans a user from the service: live sockets close with 4005, upgrades are refused, HTTP is 403", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const wire = await connected(tenant);
    const banned = await admin("POST", `/v1/admin/users/${tenant.id}/ban`, { reason: "spam" });
    expect(banned).toEqual({
      status: 200,
      body: { user_id: tenant.id, reason: "spam", banned_at: expect.any(String), closed: 1 },
    });
    await disconnectedWith(wire, 4005);
    await disconnectedWith(socket(`?token=${tenant.token}`), 4005);
    expect(await api("GET", `/rooms/${roomId}`, tenant.token)).toEqual(envelopeOf(403));
    expect((await api("GET", "/v1/me", tenant.token)).status).toBe(403);

    const unban = () =>
      fetch(`${baseUrl()}/v1/admin/users/${tenant.id}/ban`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${API_SECRET}` },
      });
    expect((await unban()).status).toBe(204);
    expect((await unban()).status).toBe(404);
    const back = await connected(tenant);
    back.send(send(roomId, "I am back", "front-back"));
    expect(await back.inbox.next(confirmation("front-back"))).toMatchObject({ data: { confirmed: true } });
  });

  it("keeps one device per user: a new socket closes the older one with 4008", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const phone = await connected(tenant);
    const laptop = await connected(tenant);
    await disconnectedWith(phone, 4008);
    laptop.send(send(roomId, "from the laptop", "front-laptop"));
    expect(await laptop.inbox.next(confirmation("front-laptop"))).toMatchObject({
      data: { confirmed: true },
    });
  });

  it("refuses a message the content policy blocks, stores nothing, and closes with 4011", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const [ownerWire, tenantWire] = [await connected(owner), await connected(tenant)];
    tenantWire.send(send(roomId, "You are a PARLEYBADWORD!", "front-bad"));
    expect(await tenantWire.inbox.next()).toEqual({
      type: "MessageSentConfirmation",
      data: { confirmed: false, reason: expect.stringContaining("parleybadword"), message_id: "front-bad" },
    });
    await disconnectedWith(tenantWire, 4011);
    ownerWire.send(send(roomId, "anyone?", "front-after"));
    await ownerWire.inbox.next(confirmation("front-after"));
    const details = await api<{ data: { messages: Json[] } }>("GET", `/rooms/${roomId}`, owner.token);
    expect(details.body.data.messages.map((m) => [m.id, m.message])).toEqual([[1, "anyone?"]]);
    expect(ownerWire.inbox.items.filter(ofType("MessageReceived"))).toEqual([]);
  });

  it("shares one room and one order with a native client, both ways", async () => {
    const [owner, tenant] = [await swappartUser(), await swappartUser()];
    const roomId = await createRoom(owner, [tenant.id]);
    const native = await nativeRoomSocket(String(roomId), owner.token);
    const swappart = await connected(tenant);

    swappart.send(send(roomId, "one", "front-1"));
    await swappart.inbox.next(confirmation("front-1"));
    native.send({ type: "send", temp_id: "n-2", text: "two" });
    expect(await swappart.inbox.next(ofType("MessageReceived"))).toEqual({
      type: "MessageReceived",
      data: { room_id: roomId, sender_id: owner.id, message: "two" },
    });
    swappart.send(send(roomId, "three", "front-3"));
    await swappart.inbox.next(confirmation("front-3"));

    const seen: [unknown, unknown][] = [];
    for (let i = 0; i < 3; i++) {
      const frame = await native.inbox.next(ofType("message"));
      seen.push([frame.seq, (frame.message as Json).text]);
    }
    expect(seen).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
    const details = await api<{ data: { messages: Json[] } }>("GET", `/rooms/${roomId}`, tenant.token);
    expect(details.body.data.messages.map((m) => [m.id, m.message])).toEqual(seen);
    native.ws.close();
  });
});
