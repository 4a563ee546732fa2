import { createExecutionContext, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RoomEvent } from "../../src/domain/events";
import { originAllowed } from "../../src/http/sockets";
import worker from "../../src/index";
import { isThreadEvent, type Session, wantsRoomEvent } from "../../src/sessions/session";
import { UserStore } from "../../src/users/user-store";
import { message } from "../domain/fixtures";
import { tokenFor } from "../helpers/tokens";

/**
 * What the host does for ActionCable that the e2e suite cannot reach: the Origin allow-list (a deployment
 * variable), the kept-session store behind `?sid=` resumption, and which room events a thread follow gets.
 */

async function upgrade(headers: Record<string, string>, vars: Record<string, string> = {}) {
  const token = await tokenFor(`ach-${crypto.randomUUID()}`);
  const request = new Request(`https://parley.test/cable?token=${token}`, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "actioncable-v1-json", ...headers },
  });
  const response = await worker.fetch(request, { ...env, ...vars }, createExecutionContext());
  const ws = response.webSocket;
  if (!ws) throw new Error(`no socket: ${response.status}`);
  const frames: unknown[] = [];
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))));
  ws.accept();
  return { ws, frames, closed, protocol: response.headers.get("Sec-WebSocket-Protocol") };
}

describe("the Origin allow-list (SOCKET_ORIGINS)", () => {
  it("accepts any origin when empty, listed origins, and upgrades without an Origin", () => {
    expect(originAllowed("https://evil.example", [])).toBe(true);
    expect(originAllowed("https://app.example", ["https://app.example"])).toBe(true);
    expect(originAllowed(null, ["https://app.example"])).toBe(true);
    expect(originAllowed("https://evil.example", ["https://app.example"])).toBe(false);
    expect(originAllowed("https://app.example.evil", ["https://app.example"])).toBe(false);
  });

  it("closes a refused upgrade with the dialect's parting frame, after echoing its subprotocol", async () => {
    const vars = { SOCKET_ORIGINS: "https://app.example, https://admin.example" };
    const refused = await upgrade({ Origin: "https://evil.example" }, vars);
    expect(refused.protocol).toBe("actioncable-v1-json");
    expect(await refused.closed).toBe(4012);
    expect(refused.frames).toEqual([{ type: "disconnect", reason: "unauthorized", reconnect: false }]);

    const allowed = await upgrade({ Origin: "https://admin.example" }, vars);
    await new Promise((r) => setTimeout(r, 50));
    expect(allowed.frames).toEqual([{ type: "welcome" }]);
    allowed.ws.close();
  });
});

describe("kept sessions (the user's object)", () => {
  async function withStore(run: (store: UserStore) => void): Promise<void> {
    const stub = env.USERS.get(env.USERS.newUniqueId());
    await runInDurableObject(stub, (_instance, state) => run(new UserStore(state.storage.sql)));
  }

  it("answers a kept state once, for its dialect, until it expires", async () => {
    await withStore((store) => {
      const now = Date.now();
      store.keep("s1", "actioncable", { ext: true, n: 1 }, now + 1000);
      expect(store.take("s1", "stomp", now)).toBeUndefined();
      // A take for another dialect forgets it too: an id names one session.
      expect(store.take("s1", "actioncable", now)).toBeUndefined();
      store.keep("s2", "actioncable", { n: 2 }, now + 1000);
      expect(store.take("s2", "actioncable", now)).toEqual({ n: 2 });
      expect(store.take("s2", "actioncable", now)).toBeUndefined();
      store.keep("s3", "actioncable", { n: 3 }, now + 1000);
      expect(store.take("s3", "actioncable", now + 1001)).toBeUndefined();
      expect(store.take("nowhere", "actioncable", now)).toBeUndefined();
    });
  });

  it("keeps at most 20, dropping the ones that expire first", async () => {
    await withStore((store) => {
      const now = Date.now();
      for (let i = 0; i < 25; i++) store.keep(`s${i}`, "actioncable", { i }, now + 10_000 + i);
      expect(store.take("s4", "actioncable", now)).toBeUndefined();
      expect(store.take("s5", "actioncable", now)).toEqual({ i: 5 });
      expect(store.take("s24", "actioncable", now)).toEqual({ i: 24 });
    });
  });
});

describe("thread follows", () => {
  const session = (follows: Session["follows"], subs: Session["subs"] = {}): Session => ({
    sid: "s",
    dialect: "actioncable",
    user: null,
    authenticatedBy: null,
    expiresAt: null,
    room: null,
    protocol: null,
    state: null,
    subs,
    follows,
    watches: [],
    connectedAt: 0,
  });
  const at = new Date().toISOString();
  const root = message({ seq: 1, id: "m1" });
  const reply = message({ seq: 2, id: "m2", parent_id: "m1" });
  const rootWithThread = message({
    seq: 1,
    id: "m1",
    thread: { replies_count: 1, participants_count: 1, participants_preview: [], last_reply_at: at },
  });
  const events: Record<string, RoomEvent> = {
    root: { type: "message", room: "r", seq: 1, at, message: root },
    reply: { type: "message", room: "r", seq: 2, at, message: reply },
    rootUpdated: {
      type: "message_updated",
      room: "r",
      seq: 3,
      at,
      change: "thread",
      message: rootWithThread,
    },
    replyDeleted: { type: "message_deleted", room: "r", seq: 4, at, message: reply, parent: root },
    typing: { type: "typing", room: "r", user: root.sender, typing: true, at },
  };

  it("are the replies, and the changes of replies and of thread roots", () => {
    expect(Object.keys(events).filter((name) => isThreadEvent(events[name] as RoomEvent))).toEqual([
      "reply",
      "rootUpdated",
      "replyDeleted",
    ]);
  });

  it("reach a session following threads, besides those following the room", () => {
    const threads = session(["threads"]);
    const wanted = (s: Session) =>
      Object.keys(events).filter((name) => wantsRoomEvent(s, events[name] as RoomEvent));
    expect(wanted(threads)).toEqual(["reply", "rootUpdated", "replyDeleted"]);
    expect(wanted(session(["rooms"]))).toEqual(Object.keys(events));
    expect(wanted(session([], { r: 0 }))).toEqual(Object.keys(events));
    expect(wanted(session(["notifications"]))).toEqual([]);
  });
});
