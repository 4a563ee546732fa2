import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Room } from "../../src/domain/model";
import { RoomGuard } from "../../src/rooms/guards";
import { RoomStore } from "../../src/rooms/room-store";
import { roomStub } from "../../src/rooms/stubs";

const room = (over: Partial<Room> = {}): Room => ({
  key: "guarded",
  number: 7,
  kind: "group",
  name: null,
  description: null,
  metadata: {},
  private: false,
  created_by: "own",
  created_at: "2026-01-01T00:00:00Z",
  epoch: "e7",
  ...over,
});

describe("room guards", () => {
  it("answers standing from memory and keeps it in step with every change", async () => {
    await runInDurableObject(roomStub(env, "guards-1"), async (_instance, state) => {
      const store = new RoomStore(state.storage.sql);
      const guard = new RoomGuard(store);
      expect(guard.participant("own")).toMatchObject({ ok: false, error: { code: "not_found" } });
      guard.saveRoom(room());
      guard.putMember({ id: "own", name: null, avatar: null }, "owner", "2026-01-01T00:00:00Z");
      expect(guard.participant("own")).toMatchObject({ ok: true, value: { standing: { role: "owner" } } });
      expect(guard.participant("out")).toMatchObject({ ok: false, error: { code: "forbidden" } });
      guard.putMember({ id: "mem", name: null, avatar: null }, "member", "2026-01-01T00:00:00Z");
      guard.setBanned("mem", true, "2026-01-01T00:00:00Z");
      expect(guard.mayParticipate("mem")).toBe(false);
      guard.deleteMember("mem");
      expect(guard.memberIds()).toEqual(["own"]);
      expect(guard.ownerCount()).toBe(1);
      // A fresh guard over the same storage (the object woke up again) sees the same.
      const again = new RoomGuard(store);
      expect(again.room()?.epoch).toBe("e7");
      expect(again.roleOf("own")).toBe("owner");
      expect(again.mayParticipate("mem")).toBe(false);
    });
  });

  it("lets anyone take part in a public live room, only members in a private one", async () => {
    await runInDurableObject(roomStub(env, "guards-2"), async (_instance, state) => {
      const guard = new RoomGuard(new RoomStore(state.storage.sql));
      guard.saveRoom(room({ key: "guards-2", kind: "live" }));
      expect(guard.mayParticipate("anyone")).toBe(true);
      guard.saveRoom(room({ key: "guards-2", kind: "live", private: true }));
      expect(guard.mayParticipate("anyone")).toBe(false);
    });
  });
});
