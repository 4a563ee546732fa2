import { describe, expect, it } from "vitest";
import { Presence } from "../../src/rooms/presence";

describe("room presence", () => {
  it("counts live paths per user and reports only the first arrival and the last departure", () => {
    const presence = new Presence(["ann", "ann", "bob"]);
    expect(presence.size).toBe(2);
    expect(presence.add("cid")).toBe(true);
    expect(presence.add("ann")).toBe(false);
    expect(presence.remove("ann")).toBe(false);
    expect(presence.remove("ann")).toBe(false);
    expect(presence.remove("ann")).toBe(true);
    expect(presence.has("ann")).toBe(false);
    expect(presence.remove("ann")).toBe(false);
    expect(presence.clear("bob")).toBe(true);
    expect(presence.size).toBe(1);
  });
});
