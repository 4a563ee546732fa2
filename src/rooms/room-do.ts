import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { DurableEvent } from "../domain/events";
import { fail, type Outcome } from "../domain/errors";
import type { Ack, Member, Message, MessageDraft, Profile, Role, Room, RoomKind } from "../domain/model";

export interface RoomInit {
  key: string;
  kind: RoomKind;
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
  private?: boolean;
  creator: Profile;
  /** Other initial members; the creator becomes owner (both users are plain members of a direct room). */
  members: { profile: Profile; role: Role }[];
}

export interface RoomPatch {
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, unknown>;
  private?: boolean;
}

export interface RoomView {
  room: Room;
  members: Member[];
  /** The caller's role, or null for a viewer of a public live room. */
  role: Role | null;
  /** Sequence number of the newest durable event. */
  head: number;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit: number;
}

/** Planned RPC surface (being implemented). */
export class RoomDO extends DurableObject<Env> {
  async create(_init: RoomInit): Promise<Outcome<{ room: Room; created: boolean }>> {
    return fail("internal", "not implemented");
  }
  async view(_userId: string): Promise<Outcome<RoomView>> {
    return fail("internal", "not implemented");
  }
  async update(_actor: string, _patch: RoomPatch): Promise<Outcome<Room>> {
    return fail("internal", "not implemented");
  }
  async destroy(_actor: string): Promise<Outcome<null>> {
    return fail("internal", "not implemented");
  }
  async addMembers(_actor: string, _members: { profile: Profile; role: Role }[]): Promise<Outcome<Member[]>> {
    return fail("internal", "not implemented");
  }
  async setRole(_actor: string, _userId: string, _role: Role): Promise<Outcome<Member>> {
    return fail("internal", "not implemented");
  }
  /** Removes `userId`; when `actor === userId` this is leaving. */
  async removeMember(_actor: string, _userId: string): Promise<Outcome<null>> {
    return fail("internal", "not implemented");
  }
  async ban(_actor: string, _userId: string): Promise<Outcome<null>> {
    return fail("internal", "not implemented");
  }
  async unban(_actor: string, _userId: string): Promise<Outcome<null>> {
    return fail("internal", "not implemented");
  }
  async post(_sender: Profile, _draft: MessageDraft): Promise<Outcome<Ack>> {
    return fail("internal", "not implemented");
  }
  /** Messages visible to `userId`, newest last; recent ranges from the room's own log, older from D1. */
  async history(_userId: string, _query: HistoryQuery): Promise<Outcome<Message[]>> {
    return fail("internal", "not implemented");
  }
  async markRead(_userId: string, _seq: number): Promise<Outcome<{ seq: number }>> {
    return fail("internal", "not implemented");
  }
  async attachUser(_user: Profile, _since: number | null): Promise<Outcome<{ head: number; backlog: DurableEvent[] }>> {
    return fail("internal", "not implemented");
  }
}
