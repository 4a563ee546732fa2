import { createExecutionContext, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { originAllowed } from "../../src/http/sockets";
import worker from "../../src/index";
import { UserStore } from "../../src/users/user-store";
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
