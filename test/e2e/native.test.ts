import { describe, expect, it } from "vitest";
import { api, devToken, unique, wsUrl } from "./client";

/** A native socket from Node's own WebSocket client, collecting JSON frames (batches unfolded). */
function connect(path: string, protocols: string[] = ["parley.v1"]) {
  const ws = new WebSocket(wsUrl(path), protocols);
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    const parsed = JSON.parse(String(e.data)) as Record<string, unknown>;
    frames.push(...(parsed.type === "batch" ? (parsed.events as Record<string, unknown>[]) : [parsed]));
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("socket error")));
  });
  let seen = 0;
  return {
    ws,
    opened,
    send: (frame: unknown) => ws.send(JSON.stringify(frame)),
    async next(type: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (seen < frames.length) {
          const frame = frames[seen++] as Record<string, unknown>;
          if (frame.type === type) return frame;
        }
        if (Date.now() > deadline) throw new Error(`no ${type}; got ${JSON.stringify(frames)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

describe("native protocol against wrangler dev", () => {
  it("room-scoped and user-scoped clients share one order; a third resumes exactly the gap", async () => {
    const [a, b, c] = [`na${unique()}`, `nb${unique()}`, `nc${unique()}`];
    const tokenA = await devToken(a);
    const created = await api<{ key: string }>("POST", "/v1/rooms", tokenA, {
      kind: "group",
      members: [b, c],
    });
    expect(created.status).toBe(201);
    const room = created.body.key;

    const roomClient = connect(`/v1/rooms/${room}/ws?token=${tokenA}`);
    const userClient = connect(`/v1/ws?token=${await devToken(b)}`);
    await Promise.all([roomClient.opened, userClient.opened]);
    roomClient.send({ type: "subscribe", id: "s" });
    userClient.send({ type: "subscribe", room, id: "s" });
    await roomClient.next("subscribed");
    await userClient.next("subscribed");

    roomClient.send({ type: "send", temp_id: "1", text: "from the room socket" });
    userClient.send({ type: "send", room, temp_id: "2", text: "from the user socket" });
    const orderSeenByRoom = [(await roomClient.next("message")).seq, (await roomClient.next("message")).seq];
    const orderSeenByUser = [(await userClient.next("message")).seq, (await userClient.next("message")).seq];
    expect(orderSeenByRoom).toEqual([1, 2]);
    expect(orderSeenByUser).toEqual([1, 2]);

    const third = connect(`/v1/ws?token=${await devToken(c)}`);
    await third.opened;
    third.send({ type: "subscribe", room, since: 1 });
    expect(await third.next("message")).toMatchObject({ seq: 2, message: { text: "from the user socket" } });
    expect(await third.next("subscribed")).toMatchObject({ head: 2 });
    for (const client of [roomClient, userClient, third]) client.ws.close();
  });
});
