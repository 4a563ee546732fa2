import { backoffDelay } from "./timeline.js";

/** The native protocol's subprotocol (docs/protocol.md). */
const SUBPROTOCOL = "parley.v1";
/** The server drops a socket silent for 90 s; a "\n" every 25 s keeps it, and is answered with "\n". */
const KEEPALIVE_MS = 25_000;
/** No frame at all (not even the keepalive answer) for this long means the connection is dead. */
const SILENCE_LIMIT_MS = 60_000;
/** A connection that stayed up this long was healthy: the next drop starts the backoff from scratch. */
const STABLE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** Close codes after which reconnecting cannot help: the token is missing, invalid or expired. */
const SIGNED_OUT_CODES = new Set([4001, 4002]);
/** Close codes telling the user they were removed from a room (by an admin, or banned). */
const REMOVED_CODES = new Set([4004, 4005]);

/** A refusal answered to a request (`{"type":"error", code, message}`), or the socket closing under it. */
export class SocketError extends Error {
  constructor(code, message, retryAfter) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * One user socket (`/v1/ws`) kept open: reconnects with backoff, sends the keepalive, unwraps batches and
 * correlates answers to requests by `id`. What a (re)connection must redo is the caller's: `onOpen` runs after
 * every connect.
 *
 * Callbacks: onOpen(), onEvent(event) for events, acks and send errors, onStatus({state, retryIn}),
 * onSignedOut(code, reason), onRemoved(code, reason).
 */
export class ChatSocket {
  constructor(token, callbacks) {
    this.token = token;
    this.callbacks = callbacks;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.nextRequest = 1;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: number}>} */
    this.pending = new Map();
    this.timers = { reconnect: 0, keepalive: 0, stable: 0 };
    this.lastHeard = 0;
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timers.reconnect);
    this.callbacks.onStatus({ state: "connecting" });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/v1/ws?token=${encodeURIComponent(this.token)}`;
    const ws = new WebSocket(url, [SUBPROTOCOL]);
    this.ws = ws;
    ws.addEventListener("open", () => this.opened(ws));
    ws.addEventListener("message", (e) => this.received(ws, e.data));
    ws.addEventListener("close", (e) => this.closed(ws, e.code, e.reason));
  }

  /** Sends a frame without waiting for an answer; false when the socket is not open. */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a frame with a fresh `id` and resolves with its answer (rejects with a SocketError). */
  request(frame) {
    if (!this.open) return Promise.reject(new SocketError("closed", "not connected"));
    const id = `r${this.nextRequest++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SocketError("timeout", `no answer to ${frame.type}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Closes for good (sign-out). */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    const ws = this.ws;
    this.drop();
    ws?.close(1000, "signed out");
  }

  /** The browser says the network is back: try at once instead of waiting out the backoff. */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  opened(ws) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    this.timers.keepalive = setInterval(() => this.keepalive(ws), KEEPALIVE_MS);
    this.timers.stable = setTimeout(() => {
      this.attempt = 0;
    }, STABLE_MS);
    this.callbacks.onStatus({ state: "open" });
    this.callbacks.onOpen();
  }

  keepalive(ws) {
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      // Not even the keepalive answer came back: the connection is gone without a close. Replace it.
      this.drop();
      ws.close(4000, "keepalive unanswered");
      this.scheduleReconnect();
      return;
    }
    ws.send("\n");
  }

  received(ws, data) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    if (typeof data !== "string" || data.trim() === "") return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const frames = frame.type === "batch" ? frame.events : [frame];
    for (const each of frames) this.dispatch(each);
  }

  dispatch(frame) {
    const waiter = frame.id === undefined ? undefined : this.pending.get(frame.id);
    if (waiter && frame.type !== "ack") {
      this.pending.delete(frame.id);
      clearTimeout(waiter.timer);
      if (frame.type === "error")
        waiter.reject(new SocketError(frame.code, frame.message, frame.retry_after));
      else waiter.resolve(frame);
      return;
    }
    this.callbacks.onEvent(frame);
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.drop();
    if (SIGNED_OUT_CODES.has(code)) {
      this.stopped = true;
      this.callbacks.onStatus({ state: "closed" });
      this.callbacks.onSignedOut(code, reason);
      return;
    }
    if (REMOVED_CODES.has(code)) this.callbacks.onRemoved(code, reason);
    this.scheduleReconnect();
  }

  /** Forgets the current socket: stops its timers and fails the requests still waiting on it. */
  drop() {
    clearInterval(this.timers.keepalive);
    clearTimeout(this.timers.stable);
    this.ws = null;
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new SocketError("closed", "connection lost"));
      this.pending.delete(id);
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++);
    this.callbacks.onStatus({ state: "waiting", retryIn: delay });
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }
}
