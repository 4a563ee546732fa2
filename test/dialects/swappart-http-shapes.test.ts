import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SUPABASE_AUDIENCE, supabaseAuthConfig } from "../../src/dialects/swappart/auth";
import { failure, statusOf, success, successAndBare } from "../../src/dialects/swappart/envelope";
import {
  createRoomSchema,
  MAX_USERS_PER_REQUEST,
  participantChanges,
  roomIdParamSchema,
  updateParticipantsSchema,
} from "../../src/dialects/swappart/requests";
import { apartmentIdOf, lastMessageOf, roomDetails, roomEntry } from "../../src/dialects/swappart/shapes";
import type { ErrorCode } from "../../src/domain/errors";
import type { Role, Room } from "../../src/domain/model";
import { seedMessage } from "../helpers/seed-001";

const OWNER = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f";
const TENANT = "0b7e4c1d-2f3a-4b5c-8d9e-1f2a3b4c5d6e";
const OTHER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

const room: Room = {
  key: "r_flat",
  number: 42,
  kind: "group",
  name: null,
  description: null,
  metadata: { apartment_id: 7 },
  private: false,
  created_by: OWNER,
  created_at: "2026-03-01T10:00:00.000Z",
  epoch: "e1",
};

const members: { user_id: string; role: Role }[] = [
  { user_id: OWNER, role: "owner" },
  { user_id: TENANT, role: "member" },
];

const message = (seq: number, over = {}) =>
  seedMessage({
    room: room.key,
    seq,
    sender: { id: TENANT, name: null, avatar: null },
    text: `message ${seq}`,
    created_at: `2026-03-01T10:00:0${seq}.000Z`,
    ...over,
  });

describe("swappart envelope", () => {
  it("carries data with a null error on success, and a human message with null data on failure", () => {
    expect(success(12)).toEqual({ error_message: null, data: 12 });
    expect(success(null)).toEqual({ error_message: null, data: null });
    expect(failure({ code: "forbidden", message: "only owners delete a room" })).toEqual({
      error_message: "only owners delete a room",
      data: null,
    });
  });

  it.each([
    ["bad_request", 400],
    ["unauthorized", 401],
    ["invalid_token", 401],
    ["token_expired", 401],
    ["forbidden", 403],
    ["not_found", 404],
    ["conflict", 409],
    ["internal", 500],
  ] as [ErrorCode, number][])("answers %s with %i", (code, status) => {
    expect(statusOf({ code, message: "x" })).toBe(status);
  });

  it("sends the room view both enveloped and bare", () => {
    expect(successAndBare({ room_id: 1, owner_id: OWNER })).toEqual({
      room_id: 1,
      owner_id: OWNER,
      error_message: null,
      data: { room_id: 1, owner_id: OWNER },
    });
  });
});

describe("swappart requests", () => {
  it("reads a room creation with users and an apartment, or none", () => {
    expect(createRoomSchema.parse({ users: [TENANT], apartment_id: 7 })).toEqual({
      users: [TENANT],
      apartment_id: 7,
    });
    expect(createRoomSchema.parse({ users: [], apartment_id: null }).apartment_id).toBeNull();
    expect(createRoomSchema.parse({ users: [TENANT] }).apartment_id).toBeUndefined();
  });

  it("refuses users that are not Supabase ids, too many users, and apartments that are not integers", () => {
    for (const body of [
      { users: ["alice"], apartment_id: 1 },
      { users: TENANT, apartment_id: 1 },
      { users: Array.from({ length: MAX_USERS_PER_REQUEST + 1 }, () => crypto.randomUUID()) },
      { users: [TENANT], apartment_id: 1.5 },
      { users: [TENANT], apartment_id: "7" },
      { apartment_id: 7 },
    ]) {
      expect(createRoomSchema.safeParse(body).success).toBe(false);
    }
  });

  it("reads a participants update, its lists optional", () => {
    expect(updateParticipantsSchema.parse({ room_id: 42, users_to_add: [OTHER] })).toEqual({
      room_id: 42,
      users_to_add: [OTHER],
      users_to_remove: [],
    });
    for (const room_id of [0, -1, 1.5, "42", null]) {
      expect(updateParticipantsSchema.safeParse({ room_id, users_to_add: [] }).success).toBe(false);
    }
  });

  it("reads a room id from a path of digits only", () => {
    expect(roomIdParamSchema.parse("42")).toBe(42);
    for (const raw of ["0", "-1", "4.2", "r_flat", "", "99999999999999999", " 4"]) {
      expect(roomIdParamSchema.safeParse(raw).success).toBe(false);
    }
  });
});

describe("swappart participant changes", () => {
  const update = (users_to_add: string[], users_to_remove: string[]) => ({ users_to_add, users_to_remove });

  it("adds newcomers only and removes members only, the owner leaving last", () => {
    expect(participantChanges(members, OWNER, update([OTHER], [OWNER, TENANT, `${OTHER}x`]))).toEqual({
      ok: true,
      value: { add: [OTHER], remove: [TENANT, OWNER] },
    });
  });

  it("lets a participant remove themself but nobody else, and add no one", () => {
    expect(participantChanges(members, TENANT, update([], [TENANT]))).toEqual({
      ok: true,
      value: { add: [], remove: [TENANT] },
    });
    for (const refused of [update([OTHER], []), update([], [OWNER])]) {
      expect(participantChanges(members, TENANT, refused)).toMatchObject({
        ok: false,
        error: { code: "forbidden" },
      });
    }
  });

  it("lets a participant re-add someone already in the room: nothing to do", () => {
    expect(participantChanges(members, TENANT, update([OWNER], []))).toEqual({
      ok: true,
      value: { add: [], remove: [] },
    });
  });

  it("refuses a user both added and removed", () => {
    expect(participantChanges(members, OWNER, update([OTHER], [OTHER]))).toMatchObject({
      ok: false,
      error: { code: "bad_request" },
    });
  });

  it("never adds a member nor removes a stranger, whatever the lists", () => {
    const ids = fc.constantFrom(OWNER, TENANT, OTHER, crypto.randomUUID());
    fc.assert(
      fc.property(fc.array(ids), fc.array(ids), (add, remove) => {
        const result = participantChanges(members, OWNER, update(add, remove));
        if (!result.ok) {
          expect(add.some((id) => remove.includes(id))).toBe(true);
          return;
        }
        const memberIds = members.map((m) => m.user_id);
        expect(result.value.add.every((id) => !memberIds.includes(id))).toBe(true);
        expect(result.value.remove.every((id) => memberIds.includes(id))).toBe(true);
        expect(new Set(result.value.add).size).toBe(result.value.add.length);
      }),
    );
  });
});

describe("swappart shapes", () => {
  it("reads the apartment from the room's metadata, null when absent or not an integer", () => {
    expect(apartmentIdOf({ apartment_id: 7 })).toBe(7);
    for (const metadata of [{}, { apartment_id: null }, { apartment_id: "7" }, { apartment_id: 1.5 }]) {
      expect(apartmentIdOf(metadata)).toBeNull();
    }
  });

  it("lists a room with its participants, apartment, ownership and last message", () => {
    const last = message(3);
    expect(roomEntry({ room, role: "owner", last_message: last }, [OWNER, TENANT])).toEqual({
      room_id: 42,
      participants_id: [OWNER, TENANT],
      apartment_id: 7,
      is_owner: true,
      last_message: {
        room_id: 42,
        message: "message 3",
        sender_id: TENANT,
        created_at: last.created_at,
      },
    });
    expect(roomEntry({ room, role: "member", last_message: null }, [OWNER, TENANT])).toMatchObject({
      is_owner: false,
      last_message: null,
    });
  });

  it("shows no last message that Swappart cannot render", () => {
    expect(lastMessageOf(42, message(1, { deleted_at: "2026-03-01T11:00:00.000Z", text: "" }))).toBeNull();
    expect(lastMessageOf(42, message(1, { type: "command" }))).toBeNull();
  });

  it("details a room with its owner, participants and text messages numbered by their seq", () => {
    const details = roomDetails(room, members, [message(1), message(2, { type: "command" }), message(3)]);
    expect(details).toEqual({
      apartment_id: 7,
      created_at: room.created_at,
      messages: [
        { id: 1, room_id: 42, message: "message 1", sender_id: TENANT, created_at: message(1).created_at },
        { id: 3, room_id: 42, message: "message 3", sender_id: TENANT, created_at: message(3).created_at },
      ],
      owner_id: OWNER,
      participants_id: [OWNER, TENANT],
      room_id: 42,
    });
  });

  it("names the creator as owner when no member holds the role", () => {
    expect(roomDetails(room, [{ user_id: TENANT, role: "member" }], []).owner_id).toBe(OWNER);
  });
});

describe("swappart Supabase settings", () => {
  it("uses the deployment's own JWT settings when no Supabase one is set", () => {
    expect(supabaseAuthConfig({})).toBeNull();
    expect(supabaseAuthConfig({ SUPABASE_JWT_SECRET: " ", SUPABASE_JWT_ISSUER: "https://x" })).toBeNull();
  });

  it("reads the secret or the key set, the issuer when given, and always the audience `authenticated`", () => {
    expect(supabaseAuthConfig({ SUPABASE_JWT_SECRET: "s3cret" })).toEqual({
      secret: "s3cret",
      jwksUrl: null,
      issuer: null,
      audience: SUPABASE_AUDIENCE,
    });
    const jwksUrl = "https://abc.supabase.co/auth/v1/.well-known/jwks.json";
    expect(
      supabaseAuthConfig({
        SUPABASE_JWKS_URL: jwksUrl,
        SUPABASE_JWT_ISSUER: "https://abc.supabase.co/auth/v1",
      }),
    ).toEqual({
      secret: null,
      jwksUrl,
      issuer: "https://abc.supabase.co/auth/v1",
      audience: "authenticated",
    });
  });
});
