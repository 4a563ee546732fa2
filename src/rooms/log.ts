import { type Outcome, ok, refuse } from "../domain/errors";
import type { DurableEvent } from "../domain/events";
import { eventVisibleTo } from "../domain/events";
import type { Message, Room } from "../domain/model";
import { type ResumePoint, recover, type StreamPosition } from "../domain/positions";
import { readMessageRows } from "../storage/room-rows";
import { HOT_EVENTS, type RoomStore } from "./room-store";

/** A resume that would replay more than this is refused: the client reloads history instead. */
export const RESUME_LIMIT = 20_000;
/** The largest history page. */
export const MAX_HISTORY_PAGE = 100;
const D1_PAGE = 500;

export interface HistoryPage {
  before?: number;
  after?: number;
  /** Only messages created before this ISO time (DDP `loadHistory` pages by timestamp). */
  before_at?: string;
  limit: number;
}

/**
 * The room's log as readers see it: positions, the backlog after a resume point, and history pages. Recent
 * ranges come from the room's own SQLite, older ones from D1, seamlessly.
 */
export class RoomLog {
  constructor(
    private readonly store: RoomStore,
    private readonly db: D1Database,
  ) {}

  position(room: Room): StreamPosition {
    return { seq: this.store.head(), epoch: room.epoch };
  }

  /** Durable events after `since` up to `head` that `userId` may see, or `conflict` when they cannot be replayed. */
  async backlog(
    room: Room,
    userId: string,
    since: ResumePoint,
    head: StreamPosition,
  ): Promise<Outcome<DurableEvent[]>> {
    const recovery = recover(since, head, RESUME_LIMIT);
    if (recovery.kind === "caught_up") return ok([]);
    if (recovery.kind === "reload") return refuse.conflict(recovery.reason);
    const floor = this.store.floor();
    const hot = this.store
      .eventsAfter(Math.max(recovery.after, floor - 1), HOT_EVENTS + 1)
      .filter((e) => e.seq <= head.seq && eventVisibleTo(e, userId));
    const old: DurableEvent[] = [];
    for (let after = recovery.after; after + 1 < floor; ) {
      const page = await readMessageRows(this.db, room, userId, after, floor, D1_PAGE, false);
      old.push(
        ...page.map((message) => ({
          type: "message" as const,
          room: room.key,
          seq: message.seq,
          at: message.created_at,
          message,
        })),
      );
      if (page.length < D1_PAGE) break;
      after = page[page.length - 1]?.seq ?? floor;
    }
    return ok([...old, ...hot]);
  }

  /** One message by seq, if `userId` may see it: from the hot log, else from D1. */
  async message(room: Room, seq: number, userId: string): Promise<Message | null> {
    const [hot] = this.store.messages(userId, seq - 1, seq + 1, 1, false);
    if (hot) return hot;
    const [old] = await readMessageRows(this.db, room, userId, seq - 1, seq + 1, 1, false);
    return old ?? null;
  }

  /**
   * The seq of the first message created at or after `at` (one past the head when none was). Seqs are handed out
   * in time order by the room's single writer, so a binary search over seqs finds it in a few indexed reads.
   */
  private async firstSeqAt(room: Room, userId: string, at: string): Promise<number> {
    let low = 1;
    let high = this.store.head() + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const first = await this.firstAfter(room, userId, mid - 1, high);
      if (!first || first.created_at >= at) high = mid;
      else low = first.seq + 1;
    }
    return low;
  }

  /** The first message visible to `userId` with a seq in (after, before). */
  private async firstAfter(
    room: Room,
    userId: string,
    after: number,
    before: number,
  ): Promise<Message | null> {
    const floor = this.store.floor();
    if (after + 1 < floor) {
      const [old] = await readMessageRows(this.db, room, userId, after, Math.min(floor, before), 1, false);
      if (old) return old;
    }
    const [hot] = this.store.messages(userId, Math.max(after, floor - 1), before, 1, false);
    return hot ?? null;
  }

  /** Messages visible to `userId`, oldest first. */
  async history(room: Room, userId: string, query: HistoryPage): Promise<Message[]> {
    const limit = Math.max(1, Math.min(query.limit, MAX_HISTORY_PAGE));
    const floor = this.store.floor();
    if (query.after !== undefined) {
      const after = query.after;
      const before = query.before ?? Number.MAX_SAFE_INTEGER;
      const old =
        after + 1 < floor
          ? await readMessageRows(this.db, room, userId, after, Math.min(floor, before), limit, false)
          : [];
      const hot = this.store.messages(userId, Math.max(after, floor - 1), before, limit - old.length, false);
      return [...old, ...hot];
    }
    const before = Math.min(
      query.before ?? Number.MAX_SAFE_INTEGER,
      query.before_at === undefined
        ? Number.MAX_SAFE_INTEGER
        : await this.firstSeqAt(room, userId, query.before_at),
    );
    const hot = this.store.messages(userId, floor - 1, before, limit, true);
    const old =
      hot.length < limit && floor > 1
        ? await readMessageRows(this.db, room, userId, 0, Math.min(floor, before), limit - hot.length, true)
        : [];
    return [...hot, ...old].reverse();
  }
}
