import { describe, expect, it } from "vitest";
import type { Message, RoomKind } from "../../src/domain/model";
import {
  decideMessagePush,
  emptyPushState,
  type IncomingMessage,
  type PushState,
  type Recipient,
  releaseHeldPushes,
  SEEN_LIMIT,
} from "../../src/push/decision";
import { seedMessage } from "../helpers/seed-001";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const offline: Recipient = { user_id: "1", online: false, push_enabled: true };
/** The default (seed 001): every message is its own push. */
const NO_COLLAPSE = 0;
/** A window a deployment may configure with `PUSH_COLLAPSE_WINDOW_SECONDS=10`. */
const COLLAPSE_WINDOW_MS = 10_000;

function incoming(overrides: Partial<Message> = {}, extra: Partial<IncomingMessage> = {}): IncomingMessage {
  const message = seedMessage(overrides);
  const kind: RoomKind = message.room.startsWith("dm:") ? "direct" : "group";
  return { room: message.room, room_kind: kind, room_muted: false, mentioned: false, message, ...extra };
}

/** Feeds messages through the decision the way the UserDO does, carrying the state along. */
function feed(
  state: PushState,
  recipient: Recipient,
  items: [number, IncomingMessage][],
  windowMs = COLLAPSE_WINDOW_MS,
) {
  const pushes = [];
  let current = state;
  let wakeAt: number | null = null;
  for (const [at, item] of items) {
    const decision = decideMessagePush(current, recipient, item, at, windowMs);
    current = decision.state;
    wakeAt = decision.wake_at;
    if (decision.push) pushes.push(decision.push);
  }
  return { state: current, pushes, wakeAt };
}

describe("whether a message is pushed", () => {
  it("pushes exactly once to an offline user", () => {
    const item = incoming();
    const decision = decideMessagePush(emptyPushState(), offline, item, T0, NO_COLLAPSE);
    expect(decision.push).toEqual({ room: "dm:1:2", room_kind: "direct", count: 1, message: item.message });
    expect(decision.skipped).toBeNull();
    expect(decision.wake_at).toBeNull();
  });

  it("pushes nothing while the user is online on any device", () => {
    const decision = decideMessagePush(
      emptyPushState(),
      { ...offline, online: true },
      incoming(),
      T0,
      NO_COLLAPSE,
    );
    expect(decision.push).toBeNull();
    expect(decision.skipped).toBe("online");
  });

  it("pushes nothing when the user turned push off, even for a mention", () => {
    const off = { ...offline, push_enabled: false };
    expect(decideMessagePush(emptyPushState(), off, incoming(), T0, NO_COLLAPSE).skipped).toBe(
      "push_disabled",
    );
    expect(
      decideMessagePush(emptyPushState(), off, incoming({}, { mentioned: true }), T0, NO_COLLAPSE).skipped,
    ).toBe("push_disabled");
  });

  it("respects a muted room unless the message is addressed to the user", () => {
    const muted = { room: "r_general", room_kind: "group" as const, room_muted: true };
    expect(
      decideMessagePush(emptyPushState(), offline, incoming({ room: "r_general" }, muted), T0, NO_COLLAPSE)
        .skipped,
    ).toBe("muted");
    expect(
      decideMessagePush(emptyPushState(), offline, incoming({}, { room_muted: true }), T0, NO_COLLAPSE)
        .skipped,
    ).toBe("muted");
    const mention = incoming({ room: "r_general" }, { ...muted, mentioned: true });
    expect(decideMessagePush(emptyPushState(), offline, mention, T0, NO_COLLAPSE).push?.count).toBe(1);
    const whisper = incoming({ room: "r_general", to: "1" }, muted);
    expect(decideMessagePush(emptyPushState(), offline, whisper, T0, NO_COLLAPSE).push?.count).toBe(1);
  });

  it("pushes group messages of rooms that are not muted", () => {
    const item = incoming({ room: "r_general" }, { room: "r_general", room_kind: "group" });
    expect(decideMessagePush(emptyPushState(), offline, item, T0, NO_COLLAPSE).push?.room_kind).toBe("group");
  });

  it("pushes from a live room only what is addressed to the user", () => {
    const live = { room: "r_show", room_kind: "live" as const };
    expect(
      decideMessagePush(emptyPushState(), offline, incoming({ room: "r_show" }, live), T0, NO_COLLAPSE)
        .skipped,
    ).toBe("not_notifiable");
    const mention = incoming({ room: "r_show" }, { ...live, mentioned: true });
    expect(decideMessagePush(emptyPushState(), offline, mention, T0, NO_COLLAPSE).push?.room_kind).toBe(
      "live",
    );
  });

  it("never pushes the user's own messages, others' whispers, commands or deleted messages", () => {
    const cases: [Partial<Message>, string][] = [
      [{ sender: { id: "1", name: "me", avatar: null } }, "own_message"],
      [{ to: "3" }, "not_for_recipient"],
      [{ type: "command" }, "not_notifiable"],
      [{ deleted_at: "2026-03-01T12:00:00.000Z" }, "not_notifiable"],
    ];
    for (const [overrides, reason] of cases) {
      const decision = decideMessagePush(emptyPushState(), offline, incoming(overrides), T0, NO_COLLAPSE);
      expect(decision.push, reason).toBeNull();
      expect(decision.skipped).toBe(reason);
    }
  });

  it("decides a message offered twice only once", () => {
    const item = incoming();
    const first = decideMessagePush(emptyPushState(), offline, item, T0, NO_COLLAPSE);
    const again = decideMessagePush(first.state, offline, item, T0 + 60_000, NO_COLLAPSE);
    expect(first.push).not.toBeNull();
    expect(again.push).toBeNull();
    expect(again.skipped).toBe("duplicate");
    expect(again.state).toBe(first.state);
  });

  it("remembers a bounded number of message ids", () => {
    const { state } = feed(
      emptyPushState(),
      { ...offline, online: true },
      Array.from({ length: SEEN_LIMIT + 10 }, (_, i): [number, IncomingMessage] => [T0 + i, incoming()]),
    );
    expect(state.seen).toHaveLength(SEEN_LIMIT);
  });
});

describe("without collapsing (the default)", () => {
  it("pushes every message of a burst on its own, as seed 001 does, holding nothing", () => {
    const burst = Array.from({ length: 5 }, (_, i): [number, IncomingMessage] => [
      T0 + i * 100,
      incoming({ text: `m${i}` }),
    ]);
    const { state, pushes, wakeAt } = feed(emptyPushState(), offline, burst, NO_COLLAPSE);
    expect(pushes.map((p) => [p.count, p.message.text])).toEqual(burst.map((_, i) => [1, `m${i}`]));
    expect(wakeAt).toBeNull();
    expect(state.windows).toEqual({});
    expect(releaseHeldPushes(state, offline, T0 + 60_000, NO_COLLAPSE).pushes).toEqual([]);
  });

  it("still releases what a window held when collapsing was turned off, and opens no new window", () => {
    const { state } = feed(emptyPushState(), offline, [
      [T0, incoming({ text: "first" })],
      [T0 + 1000, incoming({ text: "held" })],
    ]);
    const released = releaseHeldPushes(state, offline, T0 + COLLAPSE_WINDOW_MS, NO_COLLAPSE);
    expect(released.pushes.map((p) => [p.count, p.message.text])).toEqual([[1, "held"]]);
    expect(released.state.windows).toEqual({});
    const next = decideMessagePush(
      released.state,
      offline,
      incoming({ text: "next" }),
      T0 + 10_001,
      NO_COLLAPSE,
    );
    expect(next.push?.count).toBe(1);
  });
});

describe("burst collapse (PUSH_COLLAPSE_WINDOW_SECONDS)", () => {
  it("pushes the first message of a burst and holds the rest for one push when the window closes", () => {
    const burst = Array.from({ length: 5 }, (_, i): [number, IncomingMessage] => [
      T0 + i * 1000,
      incoming({ text: `m${i}` }),
    ]);
    const { state, pushes, wakeAt } = feed(emptyPushState(), offline, burst);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.count).toBe(1);
    expect(pushes[0]?.message.text).toBe("m0");
    expect(wakeAt).toBe(T0 + COLLAPSE_WINDOW_MS);

    const early = releaseHeldPushes(state, offline, T0 + COLLAPSE_WINDOW_MS - 1, COLLAPSE_WINDOW_MS);
    expect(early.pushes).toEqual([]);
    expect(early.wake_at).toBe(T0 + COLLAPSE_WINDOW_MS);

    const release = releaseHeldPushes(state, offline, T0 + COLLAPSE_WINDOW_MS, COLLAPSE_WINDOW_MS);
    expect(release.pushes).toHaveLength(1);
    expect(release.pushes[0]).toMatchObject({ room: "dm:1:2", count: 4 });
    expect(release.pushes[0]?.message.text).toBe("m4");
    expect(release.wake_at).toBeNull();

    const quiet = releaseHeldPushes(release.state, offline, T0 + 3 * COLLAPSE_WINDOW_MS, COLLAPSE_WINDOW_MS);
    expect(quiet.pushes).toEqual([]);
    expect(quiet.state.windows).toEqual({});
  });

  it("keeps one push per window for a steady stream", () => {
    let state = emptyPushState();
    let pushed = 0;
    let counted = 0;
    for (let t = 0; t < 60_000; t += 2000) {
      const at = T0 + t;
      const released = releaseHeldPushes(state, offline, at, COLLAPSE_WINDOW_MS);
      const decision = decideMessagePush(released.state, offline, incoming(), at, COLLAPSE_WINDOW_MS);
      state = decision.state;
      for (const p of [...released.pushes, ...(decision.push ? [decision.push] : [])]) {
        pushed += 1;
        counted += p.count;
      }
    }
    const final = releaseHeldPushes(state, offline, T0 + 120_000, COLLAPSE_WINDOW_MS);
    for (const p of final.pushes) {
      pushed += 1;
      counted += p.count;
    }
    expect(counted).toBe(30);
    expect(pushed).toBeLessThanOrEqual(60_000 / COLLAPSE_WINDOW_MS + 1);
  });

  it("collapses each room on its own", () => {
    const { pushes } = feed(emptyPushState(), offline, [
      [T0, incoming()],
      [T0 + 100, incoming({ room: "r_a" }, { room: "r_a", room_kind: "group" })],
      [T0 + 200, incoming()],
      [T0 + 300, incoming({ room: "r_b" }, { room: "r_b", room_kind: "group" })],
    ]);
    expect(pushes.map((p) => p.room)).toEqual(["dm:1:2", "r_a", "r_b"]);
  });

  it("counts held messages into the next push when it comes before the release", () => {
    const { pushes } = feed(emptyPushState(), offline, [
      [T0, incoming()],
      [T0 + 1000, incoming()],
      [T0 + 2000, incoming()],
      [T0 + COLLAPSE_WINDOW_MS + 5, incoming({ text: "late" })],
    ]);
    expect(pushes.map((p) => p.count)).toEqual([1, 3]);
    expect(pushes[1]?.message.text).toBe("late");
  });

  it("drops what it held when the user comes online or turns push off before the window closes", () => {
    const { state } = feed(emptyPushState(), offline, [
      [T0, incoming()],
      [T0 + 1000, incoming()],
    ]);
    const online = releaseHeldPushes(
      state,
      { ...offline, online: true },
      T0 + COLLAPSE_WINDOW_MS,
      COLLAPSE_WINDOW_MS,
    );
    expect(online.pushes).toEqual([]);
    expect(online.state.windows).toEqual({});
    expect(online.wake_at).toBeNull();
    const off = releaseHeldPushes(
      state,
      { ...offline, push_enabled: false },
      T0 + COLLAPSE_WINDOW_MS,
      COLLAPSE_WINDOW_MS,
    );
    expect(off.pushes).toEqual([]);
  });

  it("forgets closed windows that hold nothing, so the state stays small", () => {
    const { state } = feed(emptyPushState(), offline, [
      [T0, incoming({ room: "r_a" }, { room: "r_a", room_kind: "group" })],
      [T0 + 2 * COLLAPSE_WINDOW_MS, incoming()],
    ]);
    expect(Object.keys(state.windows)).toEqual(["dm:1:2"]);
  });

  it("works from state that went through JSON storage", () => {
    const { state } = feed(emptyPushState(), offline, [
      [T0, incoming()],
      [T0 + 1000, incoming()],
    ]);
    const stored = JSON.parse(JSON.stringify(state)) as PushState;
    expect(
      releaseHeldPushes(stored, offline, T0 + COLLAPSE_WINDOW_MS, COLLAPSE_WINDOW_MS).pushes,
    ).toHaveLength(1);
  });
});
