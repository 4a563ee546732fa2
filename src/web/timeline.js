/**
 * The client's model of rooms and unsent messages, free of DOM and network so its rules stay easy to follow:
 * messages are keyed by their room `seq` (so replays never duplicate), and unsent messages are keyed by their
 * `temp_id` (so a resend after a reconnect is the same message, not a new one).
 */

/** One room's messages as this client has seen them. */
export class Timeline {
  constructor() {
    /** @type {Map<number, object>} */
    this.messages = new Map();
    /**
     * The highest durable `seq` received from the room's stream or its newest history page: what a resume
     * asks for (`since`). Acks never move it, because seqs below an ack may not have arrived yet.
     */
    this.lastSeq = 0;
    /** Lowest message seq loaded, for paging back through history. */
    this.oldestSeq = null;
    this.hasOlder = false;
    /** Other members' read markers: user id → highest seq read. */
    this.readers = new Map();
  }

  /** A page from `GET /v1/rooms/{id}/messages`; `newest` when it is the room's newest page. */
  addHistory(messages, { newest, pageSize }) {
    for (const message of messages) this.putMessage(message);
    const seqs = messages.map((m) => m.seq);
    if (newest && seqs.length > 0) this.lastSeq = Math.max(this.lastSeq, ...seqs);
    if (seqs.length > 0) {
      const lowest = Math.min(...seqs);
      this.oldestSeq = this.oldestSeq === null ? lowest : Math.min(this.oldestSeq, lowest);
    }
    this.hasOlder = seqs.length === pageSize && (this.oldestSeq ?? 0) > 1;
  }

  /** A durable event from the stream. Returns false when it was already seen (a replay at the resume seam). */
  addDurable(event) {
    const fresh = event.seq > this.lastSeq || (event.type === "message" && !this.messages.has(event.seq));
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    if (event.type === "message") this.putMessage(event.message);
    return fresh;
  }

  /** My own message, known from its ack before (or instead of) its event. */
  addOwn(message) {
    if (!this.messages.has(message.seq)) this.putMessage(message);
  }

  putMessage(message) {
    this.messages.set(message.seq, message);
  }

  /** A read event: `userId` has read up to `seq`. */
  noteRead(userId, seq) {
    this.readers.set(userId, Math.max(this.readers.get(userId) ?? 0, seq));
  }

  /** Whether someone other than the sender has read up to `seq`. */
  seenByOthers(seq, senderId) {
    for (const [userId, upTo] of this.readers) if (userId !== senderId && upTo >= seq) return true;
    return false;
  }

  ordered() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }
}

/**
 * Messages written but not yet acknowledged, in the order they were written. Each keeps its `temp_id` for
 * life: resending it after a drop, a reload or a rate limit can never post it twice.
 */
export class Outbox {
  /** `entries` restored from storage went out on connections of a page since gone: all are due again. */
  constructor(entries = []) {
    /** @type {Map<string, {temp_id: string, room: string, text: string, created_at: string, state: "sending" | "waiting" | "failed", error: string | null, retry_at: number | null, sent_on: number | null}>} */
    this.entries = new Map(entries.map((e) => [e.temp_id, { ...e, sent_on: null }]));
  }

  add(room, text, tempId, now = new Date()) {
    const entry = {
      temp_id: tempId,
      room,
      text,
      created_at: now.toISOString(),
      state: "sending",
      error: null,
      retry_at: null,
      sent_on: null,
    };
    this.entries.set(tempId, entry);
    return entry;
  }

  get(tempId) {
    return this.entries.get(tempId);
  }

  /** Removes and returns the entry a server answer (ack or own message event) confirms. */
  confirm(tempId) {
    const entry = this.entries.get(tempId);
    this.entries.delete(tempId);
    return entry;
  }

  /** The entry went out on connection number `connection`; its answer, or that connection's loss, follows. */
  markSent(tempId, connection) {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    entry.state = "sending";
    entry.retry_at = null;
    entry.sent_on = connection;
  }

  /** The server asked to slow down: the message waits, then goes again with the same temp_id. */
  delay(tempId, retryAfterSeconds, now = Date.now()) {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    entry.state = "waiting";
    entry.retry_at = now + Math.max(1, retryAfterSeconds ?? 1) * 1000;
  }

  /** The server refused the message for good (too long, not a member…): kept until retried or discarded. */
  fail(tempId, message) {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    entry.state = "failed";
    entry.error = message;
  }

  /** The user asked to try a refused message again. */
  retry(tempId) {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    entry.state = "sending";
    entry.error = null;
    entry.sent_on = null;
  }

  /**
   * Entries to send on connection `connection` now. One message per room is in flight at a time, so a room
   * receives mine in the order I wrote them even when the server refuses some for speed: per room, the oldest
   * entry not refused for good, unless it is still waiting out a rate limit or already went out on this very
   * connection (one sent on a connection since lost may never have arrived: it goes again, same temp_id).
   */
  due(connection, now = Date.now()) {
    const heads = new Map();
    for (const entry of this.entries.values()) {
      if (entry.state !== "failed" && !heads.has(entry.room)) heads.set(entry.room, entry);
    }
    return [...heads.values()].filter((e) =>
      e.state === "waiting" ? e.retry_at <= now : e.sent_on !== connection,
    );
  }

  /** The earliest moment a waiting entry becomes due, or null. */
  nextRetryAt() {
    const waits = [...this.entries.values()].filter((e) => e.state === "waiting").map((e) => e.retry_at);
    return waits.length > 0 ? Math.min(...waits) : null;
  }

  inRoom(room) {
    return [...this.entries.values()].filter((e) => e.room === room);
  }

  toJSON() {
    return [...this.entries.values()];
  }
}

/** Reconnect delay: exponential from half a second up to 30 s, with jitter so clients do not stampede. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(30_000, 500 * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/** The other member of a direct room, from its key `dm:<a>:<b>` (user ids never contain a colon). */
export function directPeer(roomKey, myId) {
  if (!roomKey.startsWith("dm:")) return null;
  const [a, b] = roomKey.slice(3).split(":");
  return a === myId ? (b ?? null) : (a ?? null);
}
