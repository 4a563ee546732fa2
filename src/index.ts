import { Hono } from "hono";
import type { Env } from "./env";

export { RoomDO } from "./rooms/room-do";
export { UserDO } from "./users/user-do";

const app = new Hono<{ Bindings: Env }>();
app.get("/health", (c) => c.json({ ok: true }));

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch, _env: Env) {
    batch.ackAll();
  },
} satisfies ExportedHandler<Env>;
