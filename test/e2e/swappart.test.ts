import { afterEach, describe, expect, it } from "vitest";
import { api, baseUrl, devToken } from "./client";
import { type Json, ofType, openWire, type Wire } from "./wire";

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
});
