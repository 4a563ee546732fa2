import type { Env } from "./env";
import { createApp } from "./http/app";
import { handleDeadLetterBatch, handlePushBatch, PUSH_DEAD_LETTER_QUEUE } from "./push/consumer";
import type { PushJob } from "./push/jobs";

export { RoomDO } from "./rooms/room-do";
export { UserDO } from "./users/user-do";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: Env) {
    if (batch.queue === PUSH_DEAD_LETTER_QUEUE) return handleDeadLetterBatch(batch, env);
    return handlePushBatch(batch as MessageBatch<PushJob>, env);
  },
} satisfies ExportedHandler<Env, unknown>;
