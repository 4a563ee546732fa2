import type { HistoryQuery } from "../domain/commands";
import { type Outcome, ok, refuse } from "../domain/errors";
import type { DurableEvent } from "../domain/events";
import { eventVisibleTo } from "../domain/events";
import { type ChangedMessage, replayEvents } from "../domain/lifecycle";
import type { Message, MessageRef, Room } from "../domain/model";
import { type ResumePoint, recover, type StreamPosition } from "../domain/positions";
import {
  changedMessagesAfter,
  firstSeqAtOrAfter,
  readMessageRowById,
  readMessageRows,
  readThreadRows,
} from "../storage/room-rows";
import type { LifecycleStore } from "./lifecycle-store";
import type { RoomStore } from "./room-store";

/** A resume that would replay more than this is refused: the client reloads history instead. */
export const RESUME_LIMIT = 20_000;
/** The largest history page. */
export const MAX_HISTORY_PAGE = 100;
const D1_PAGE = 500;

/**
 * The room's log as readers see it: positions, the backlog after a resume point, and history pages. Recent
 * ranges come from the room's own SQLite, older ones from D1, seamlessly.
 */
export class RoomLog {
  constructor(
    private readonly store: RoomStore,
    private readonly lifecycle: LifecycleStore,
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
      .eventsAfter(Math.max(recovery.after, floor - 1), this.store.hotWindow + 1)
      .filter((e) => e.seq <= head.seq && eventVisibleTo(e, userId));
    // Below the hot log, D1 rows changed after `since` stand for the events: posts and each message's last change.
    const rows: ChangedMessage[] = [];
    for (let from: number | null = recovery.after; from !== null && recovery.after + 1 < floor; ) {
      const page = await changedMessagesAfter(this.db, room, userId, recovery.after, floor, D1_PAGE, from);
      rows.push(...page.rows);
      from = page.next;
    }
    return ok([...replayEvents(room.key, rows, recovery.after), ...hot]);
  }

  /**
   * The message a lifecycle command names, whatever its visibility (the caller applies `targetOf`): from the
   * room's own store, else from D1 (older than the hot log). The input gate opens during the D1 read: callers
   * re-check what they decided from it before writing.
   */
  async find(room: Room, ref: MessageRef, actorId: string): Promise<Message | null> {
    const hot = this.store.findMessage(typeof ref === "string" ? { id: ref } : ref);
    if (hot) return hot;
    if (typeof ref === "string") return readMessageRowById(this.db, room, ref);
    // By seq, only what the actor may see is read: another's whisper is refused alike as missing.
    const [old] = await readMessageRows(this.db, room, actorId, ref.seq - 1, ref.seq + 1, 1, false);
    return old ?? null;
  }

  /** One message by seq, if `userId` may see it: from the hot log, else from D1. */
  async message(room: Room, seq: number, userId: string): Promise<Message | null> {
    const [hot] = this.store.messages(userId, seq - 1, seq + 1, 1, false);
    if (hot) return hot;
    const [old] = await readMessageRows(this.db, room, userId, seq - 1, seq + 1, 1, false);
    return old ?? null;
  }

  /** Messages visible to `userId`, oldest first: one thread's replies when `thread_id` names its root. */
  async history(room: Room, userId: string, query: HistoryQuery): Promise<Message[]> {
    const limit = Math.max(1, Math.min(query.limit, MAX_HISTORY_PAGE));
    const floor = this.store.floor();
    const before =
      query.before_at !== undefined ? await this.seqAt(room, floor, query.before_at) : query.before;
    const page = { after: query.after, before: before ?? Number.MAX_SAFE_INTEGER, limit, floor };
    if (query.thread_id !== undefined) return this.threadPage(room, userId, query.thread_id, page);
    if (page.after !== undefined) {
      const after = page.after;
      const old =
        after + 1 < floor
          ? await readMessageRows(this.db, room, userId, after, Math.min(floor, page.before), limit, false)
          : [];
      const hot = this.store.messages(
        userId,
        Math.max(after, floor - 1),
        page.before,
        limit - old.length,
        false,
      );
      return [...old, ...hot];
    }
    const hot = this.store.messages(userId, floor - 1, page.before, limit, true);
    const old =
      hot.length < limit && floor > 1
        ? await readMessageRows(
            this.db,
            room,
            userId,
            0,
            Math.min(floor, page.before),
            limit - hot.length,
            true,
          )
        : [];
    return [...hot, ...old].reverse();
  }

  /** A thread's standing replies: the hot part from the thread tables, the older part from D1. */
  private async threadPage(
    room: Room,
    userId: string,
    rootId: string,
    page: { after?: number; before: number; limit: number; floor: number },
  ): Promise<Message[]> {
    const { before, limit, floor } = page;
    const hotReplies = (seqs: number[]) =>
      seqs.flatMap((seq) => this.store.messages(userId, seq - 1, seq + 1, 1, false));
    const standing = (messages: Message[]) => messages.filter((m) => m.deleted_at === null);
    if (page.after !== undefined) {
      const after = page.after;
      const old =
        after + 1 < floor
          ? standing(
              await readThreadRows(
                this.db,
                room,
                rootId,
                userId,
                after,
                Math.min(floor, before),
                limit,
                false,
              ),
            )
          : [];
      const seqs = this.lifecycle.replySeqs(
        rootId,
        Math.max(after, floor - 1),
        before,
        limit - old.length,
        false,
      );
      return [...old, ...hotReplies(seqs)];
    }
    const hot = hotReplies(this.lifecycle.replySeqs(rootId, floor - 1, before, limit, true));
    const old =
      hot.length < limit && floor > 1
        ? standing(
            await readThreadRows(
              this.db,
              room,
              rootId,
              userId,
              0,
              Math.min(floor, before),
              limit - hot.length,
              true,
            ),
          )
        : [];
    return [...hot, ...old].reverse();
  }

  /** The first seq created at or after `at`, as a `before` bound (none: after every message). */
  private async seqAt(room: Room, floor: number, at: string): Promise<number> {
    const hot = this.store.firstSeqAtOrAfter(floor, at);
    const oldestHot = this.store.firstSeqAtOrAfter(floor, "");
    if (hot !== null && hot !== oldestHot) return hot;
    if (hot === null && oldestHot !== null) return Number.MAX_SAFE_INTEGER;
    // The bound is at or below the hot log's start: D1 holds the older messages.
    const old = floor > 1 ? await firstSeqAtOrAfter(this.db, room, at) : null;
    return old ?? hot ?? Number.MAX_SAFE_INTEGER;
  }
}
