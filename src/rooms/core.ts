import type { RoomEvent } from "../domain/events";
import type { Bucket } from "../domain/rate-limit";
import type { Env, Limits } from "../env";
import type { SessionHost } from "../sessions/host";
import type { FanOut } from "./fanout";
import type { RoomGuard } from "./guards";
import type { LifecycleStore } from "./lifecycle-store";
import type { RoomLog } from "./log";
import type { Presence } from "./presence";
import type { RoomStore } from "./room-store";

/** D1 lags the room by at most this much under normal operation. */
export const FLUSH_DELAY_MS = 250;

/** What a room's command handlers and jobs work with: the object's parts, without the object. */
export interface RoomCore {
  env: Env;
  limits: Limits;
  store: RoomStore;
  /** Threads, reactions, edit history and pins (`lifecycle-store.ts`). */
  lifecycle: LifecycleStore;
  guard: RoomGuard;
  log: RoomLog;
  fanout: FanOut;
  presence: Presence;
  sockets: SessionHost;
  /** Per-user send rate buckets; in memory, so a restart only forgives a burst. */
  buckets: Map<string, Bucket>;
  transaction<T>(run: () => T): T;
  wakeAt(at: number): Promise<void>;
  /** Queues an event for fan-out; durable ones also schedule the D1 flush. */
  publish(event: RoomEvent): void;
  /** Ends every live path of a user who may no longer see the room (room sockets closed with `code`). */
  cutOff(userId: string, code: number, reason: string): void;
}
