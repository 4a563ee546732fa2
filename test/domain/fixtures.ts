import type { Message, Profile, Room } from "../../src/domain/model";
import type { Standing } from "../../src/domain/permissions";

/** Shared builders for the lifecycle tests: a message, a room and standings, each overridable. */

export const user = (id: string): Profile => ({ id, name: id.toUpperCase(), avatar: null });

export const T0 = Date.parse("2026-01-01T00:00:00.000Z");

export function message(overrides: Partial<Message> = {}): Message {
  const seq = overrides.seq ?? 1;
  return {
    id: `m${seq}`,
    room: "general",
    seq,
    sender: user("ann"),
    type: "text",
    text: "hello",
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    temp_id: `t${seq}`,
    created_at: new Date(T0).toISOString(),
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: seq,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...overrides,
  };
}

export function room(overrides: Partial<Room> = {}): Room {
  return {
    key: "general",
    number: 1,
    kind: "group",
    name: "General",
    description: null,
    metadata: {},
    private: false,
    created_by: "ann",
    created_at: new Date(T0).toISOString(),
    epoch: "e1",
    ...overrides,
  };
}

export const owner: Standing = { kind: "member", role: "owner" };
export const admin: Standing = { kind: "member", role: "admin" };
export const member: Standing = { kind: "member", role: "member" };
export const viewer: Standing = { kind: "viewer" };
export const nobody: Standing = { kind: "none" };
