import type { RoomEvent } from "../domain/events";
import { eventVisibleTo } from "../domain/events";

/** Where a room's events go: its own sockets, and the objects of users attached to the room. */
export interface FanOutTargets {
  toSockets(events: RoomEvent[]): void;
  /** The users whose objects receive this room's events now. */
  attachedUsers(): Iterable<string>;
  toUser(userId: string, events: RoomEvent[]): Promise<void>;
  /** A delivery to `userId` failed: the target is detached, and reattaches when the user reconnects. */
  deliveryFailed(userId: string, error: unknown): Promise<void>;
}

/** The longest a flush waits behind the previous one (docs/benchmarks.md: 20 ms beat 50 ms at p99). */
export const LONGEST_FLUSH_WAIT_MS = 20;

/**
 * Fan-out with adaptive batching and one delivery line per attached user. `publish` queues an event and
 * schedules a flush; after a flush the next one waits as long again as this one kept the object busy (the clock
 * stands still while a turn runs, so the turn after it reads the flush's cost), capped, and what is published
 * meanwhile goes out together. An idle room flushes at once; under load, frames carry more events instead of
 * queueing behind each other. Each user has at most one delivery in flight; what accumulates meanwhile goes as
 * the next batch, so order is kept and bursts coalesce.
 */
export class FanOut {
  private pending: RoomEvent[] = [];
  private scheduled = false;
  private readonly lines = new Map<string, { queue: RoomEvent[]; running: boolean }>();

  constructor(private readonly targets: FanOutTargets) {}

  publish(event: RoomEvent): void {
    this.pending.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /** Sends every pending event now. */
  flush(): void {
    const events = this.pending;
    if (events.length === 0) {
      this.scheduled = false;
      return;
    }
    this.pending = [];
    this.scheduled = true;
    const startedAt = Date.now();
    this.targets.toSockets(events);
    for (const userId of this.targets.attachedUsers()) {
      const visible = events.filter((e) => eventVisibleTo(e, userId));
      if (visible.length > 0) this.deliver(userId, visible);
    }
    setTimeout(
      () => setTimeout(() => this.flush(), Math.min(Date.now() - startedAt, LONGEST_FLUSH_WAIT_MS)),
      0,
    );
  }

  private deliver(userId: string, events: RoomEvent[]): void {
    let line = this.lines.get(userId);
    if (!line) {
      line = { queue: [], running: false };
      this.lines.set(userId, line);
    }
    line.queue.push(...events);
    if (!line.running) void this.drain(userId, line);
  }

  private async drain(userId: string, line: { queue: RoomEvent[]; running: boolean }): Promise<void> {
    line.running = true;
    while (line.queue.length > 0) {
      const batch = line.queue.splice(0);
      try {
        await this.targets.toUser(userId, batch);
      } catch (error) {
        line.queue = [];
        await this.targets.deliveryFailed(userId, error);
      }
    }
    line.running = false;
    this.lines.delete(userId);
  }
}
