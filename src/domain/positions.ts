/**
 * A position in a room's log: the seq of a durable event and the epoch of the room it belongs to (Centrifuge's
 * StreamPosition). Seqs compare only within one epoch.
 */
export interface StreamPosition {
  seq: number;
  epoch: string;
}

/** Where a client says it stopped: a seq, with the epoch it saw when it has one (older clients send none). */
export interface ResumePoint {
  seq: number;
  epoch: string | null;
}

/** What a subscription with `since` must do. */
export type Recovery =
  | { kind: "caught_up" }
  | { kind: "replay"; after: number }
  /** The client's position cannot be continued: it reloads history instead (answered as `conflict`). */
  | { kind: "reload"; reason: string };

/**
 * The pure recovery check: a position from another epoch, or ahead of the head, belongs to a different log; a
 * gap larger than `limit` is cheaper to reload than to replay.
 */
export function recover(since: ResumePoint, head: StreamPosition, limit: number): Recovery {
  if (since.epoch !== null && since.epoch !== head.epoch)
    return { kind: "reload", reason: "the room was re-created since this position: reload the history" };
  if (since.seq > head.seq)
    return { kind: "reload", reason: "this position is ahead of the room: reload the history" };
  if (since.seq === head.seq) return { kind: "caught_up" };
  if (head.seq - since.seq > limit)
    return {
      kind: "reload",
      reason: `more than ${limit} events were missed: reload the history instead of resuming`,
    };
  return { kind: "replay", after: since.seq };
}
