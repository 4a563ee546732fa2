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

  /**
   * A durable event from the stream. Returns false when it was already seen (a replay at the resume seam).
   * Lifecycle events (`message_updated`, `message_deleted`, `reaction_changed`, `message_pinned`) carry the
   * message in its new state, and a deletion its thread root's new summary: both replace what is loaded.
   */
  addDurable(event) {
    const fresh = event.seq > this.lastSeq || (event.type === "message" && !this.messages.has(event.seq));
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    if (event.type === "message") this.putMessage(event.message);
    else if (event.message) this.updateMessage(event.message);
    if (event.parent) this.updateMessage(event.parent);
    return fresh;
  }

  /** A loaded message in a newer state (an event, or the answer to my edit or reaction); others are ignored. */
  updateMessage(message) {
    if (this.messages.has(message.seq)) this.putMessage(message);
  }

  /** My own message, known from its ack before (or instead of) its event. */
  addOwn(message) {
    if (!this.messages.has(message.seq)) this.putMessage(message);
  }

  /**
   * Stores a message unless a later state of it is known: `changed_seq` (the event that last changed it) orders
   * states, so a history page fetched before an edit arrived cannot undo the edit.
   */
  putMessage(message) {
    const known = this.messages.get(message.seq);
    if (known && (known.changed_seq ?? 0) > (message.changed_seq ?? 0)) return;
    this.messages.set(message.seq, message);
  }

  /** A message by its id, when loaded. */
  byId(id) {
    for (const message of this.messages.values()) if (message.id === id) return message;
    return undefined;
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

  /** The room's own messages, oldest first: thread replies show in their thread, not here. */
  ordered() {
    return [...this.messages.values()].filter((m) => !m.parent_id).sort((a, b) => a.seq - b.seq);
  }

  /** The loaded replies in the thread of root `rootId`, oldest first. */
  replies(rootId) {
    return [...this.messages.values()].filter((m) => m.parent_id === rootId).sort((a, b) => a.seq - b.seq);
  }
}

/**
 * Messages written but not yet acknowledged, in the order they were written. Each keeps its `temp_id` for
 * life: resending it after a drop, a reload or a rate limit can never post it twice.
 */
export class Outbox {
  /** `entries` restored from storage went out on connections of a page since gone: all are due again. */
  constructor(entries = []) {
    /** @type {Map<string, {temp_id: string, room: string, parent_id: string | null, text: string, created_at: string, state: "sending" | "waiting" | "failed", error: string | null, retry_at: number | null, sent_on: number | null}>} */
    this.entries = new Map(entries.map((e) => [e.temp_id, { parent_id: null, ...e, sent_on: null }]));
  }

  /** `parentId`: the thread root when the message is a reply in its thread. */
  add(room, text, tempId, { parentId = null, now = new Date() } = {}) {
    const entry = {
      temp_id: tempId,
      room,
      parent_id: parentId,
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
