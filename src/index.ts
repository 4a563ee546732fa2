import type { Env } from "./env";
import { createApp } from "./http/app";

export { RoomDO } from "./rooms/room-do";
export { UserDO } from "./users/user-do";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch, _env: Env) {
    batch.ackAll();
  },
} satisfies ExportedHandler<Env>;
