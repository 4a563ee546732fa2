import { ApiError, apiFor, mintDevToken } from "./api.js";
import { ChatSocket } from "./socket.js";
import { directPeer, Outbox, Timeline } from "./timeline.js";

/** Messages per history page (the API's maximum is 100). */
const PAGE_SIZE = 50;
/** Typing is renewed at most this often while the user types; the server forgets it after 10 s. */
const TYPING_RENEW_MS = 3_000;
/** Someone's typing indicator is dropped after this long without news, in case their "false" never comes. */
const TYPING_SHOWN_MS = 12_000;
const NOTICE_MS = 10_000;
/** Replies loaded when a thread opens (the API's maximum page). */
const THREAD_PAGE = 100;
/** The reactions offered by the picker; the server takes any one emoji or `:shortcode:`. */
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "👀"];
const SESSION_KEY = "parley.session";
const OUTBOX_KEY = "parley.outbox";

const $ = (id) => document.getElementById(id);

/**
 * Builds an element. Strings become text nodes, so user data is never parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string | boolean | null | undefined>} attributes
 * @param {(Node | string | null | undefined | false)[]} children
 */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) node.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** Moves `parent`'s children into the order of `nodes`, touching only what changed (live regions stay calm). */
function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
/** A moment as the time alone when it is today, else with its date. */
const moment = (iso) =>
  new Date(iso).toDateString() === new Date().toDateString()
    ? clock(iso)
    : new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
const displayName = (profile) => profile?.name || profile?.id || "someone";

// ---- state ----

const state = {
  /** @type {{token: string, user: {id: string, name: string | null}} | null} */
  session: null,
  api: null,
  /** @type {ChatSocket | null} */
  socket: null,
  /** Connections opened so far: tells a message sent on the current connection from one sent on a lost one. */
  connection: 0,
  /** Room key → `{room, role, unread_count, last_message}` from `GET /v1/rooms`, kept current by events. */
  rooms: new Map(),
  /** Room key → its list item, kept across renders so a focused link keeps its focus. */
  roomNodes: new Map(),
  /** Inbox events for rooms not listed yet, applied once the list is reloaded. */
  unlistedInbox: new Map(),
  roomsLoading: null,
  /** @type {Map<string, Timeline>} */
  timelines: new Map(),
  outbox: new Outbox(),
  retryTimer: 0,
  /** The open room's view, or null. */
  open: null,
  /** The side panel: `{kind: "thread", room, rootId, nodes}`, `{kind: "notifications"}`, `{kind: "search", …}`. */
  panel: null,
  /** The notification feed as far as loaded (newest first), and the new-notifications count. */
  feed: { items: [], unread: 0, next: null, loaded: false },
  /** Counts changes to the feed (my marks, its events): a page fetched across one is stale and fetched again. */
  feedChanges: 0,
  /** A message to show once its room is open: `{room, seq, threadId}` (from a search hit or a notification). */
  focus: null,
};

const me = () => state.session?.user;

// ---- notices ----

function notify(text, kind = "info") {
  const close = el("button", { type: "button", class: "quiet", "aria-label": "Dismiss" }, "×");
  const notice = el("div", { class: `notice ${kind}` }, el("span", {}, text), close);
  close.addEventListener("click", () => notice.remove());
  $("notices").append(notice);
  setTimeout(() => notice.remove(), NOTICE_MS);
}

/** Handles an API failure: a dead token signs out, anything else is shown. */
function reportError(error) {
  if (error instanceof ApiError && error.signedOut) {
    signOut("Your session has ended. Sign in again.");
    return;
  }
  notify(error.message, "error");
}

// ---- sign-in ----

function showSignIn(message = "") {
  $("chat").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  const last = state.session?.user;
  if (last && !$("sign-in-user").value) {
    $("sign-in-user").value = last.id;
    $("sign-in-name").value = last.name ?? "";
  }
  $("sign-in-user").focus();
}

async function signIn(load) {
  $("sign-in-error").textContent = "";
  try {
    const session = await load();
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    startChat(session);
  } catch (error) {
    $("sign-in-error").textContent =
      error instanceof ApiError && error.status === 404
        ? "Dev sign-in is off on this server: use a chat token instead."
        : error.message;
  }
}

$("dev-sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  const userId = $("sign-in-user").value.trim();
  const name = $("sign-in-name").value.trim();
  signIn(async () => {
    const { token } = await mintDevToken(userId, name);
    // Stores the profile so people who add me to a room see my name, not only my id.
    const user = await apiFor(token).storeProfile();
    return { token, user: { id: user.id, name: user.name } };
  });
});

$("token-sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("sign-in-token").value.trim();
  signIn(async () => {
    const user = await apiFor(token).me();
    return { token, user: { id: user.id, name: user.name } };
  });
});

function signOut(message = "") {
  state.socket?.stop();
  state.socket = null;
  closeRoom();
  state.rooms.clear();
  state.roomNodes.clear();
  state.timelines.clear();
  state.outbox = new Outbox();
  state.feed = { items: [], unread: 0, next: null, loaded: false };
  state.focus = null;
  closePanel();
  clearTimeout(state.retryTimer);
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(OUTBOX_KEY);
  history.replaceState(null, "", location.pathname);
  document.title = "Parley";
  showSignIn(message);
}

$("sign-out").addEventListener("click", () => signOut());

// ---- the chat ----

function startChat(session) {
  state.session = session;
  state.api = apiFor(session.token);
  const saved = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) ?? "null");
  state.outbox = new Outbox(saved?.user === session.user.id ? saved.entries : []);
  $("sign-in").hidden = true;
  $("chat").hidden = false;
  $("whoami").textContent = `${displayName(session.user)} (${session.user.id})`;
  state.socket = new ChatSocket(session.token, {
    onOpen: connected,
    onEvent: handleEvent,
    onStatus: showConnection,
    onSignedOut: () => signOut("Your session has ended. Sign in again."),
    onRemoved: () => {
      notify("You were removed from a room.", "warning");
      loadRooms();
    },
  });
  state.socket.connect();
  loadRooms();
  routeFromHash();
}

function showConnection({ state: connection, retryIn }) {
  const label = {
    connecting: "Connecting…",
    open: "Connected",
    waiting: `Reconnecting in ${Math.ceil((retryIn ?? 0) / 1000)} s…`,
    closed: "Disconnected",
  }[connection];
  const node = $("connection");
  node.dataset.state = connection;
  node.textContent = label;
  renderMessages();
}

/** Every (re)connection: the server has forgotten this socket's subscriptions and watches. */
function connected() {
  state.connection += 1;
  const view = state.open;
  if (view) {
    view.subscribed = false;
    view.watching = false;
    subscribeOpenRoom();
  }
  followNotifications();
  flushOutbox();
}

// ---- room list ----

function loadRooms() {
  state.roomsLoading ??= state.api
    .rooms()
    .then(({ rooms }) => {
      state.rooms = new Map(rooms.map((entry) => [entry.room.key, entry]));
      for (const [key, inbox] of state.unlistedInbox) applyInbox(key, inbox);
      state.unlistedInbox.clear();
      renderRoomList();
      if (state.open) renderRoomHeader();
    })
    .catch(reportError)
    .finally(() => {
      state.roomsLoading = null;
    });
  return state.roomsLoading;
}

$("refresh-rooms").addEventListener("click", () => loadRooms());

function roomTitle(key) {
  const room = state.rooms.get(key)?.room ?? state.open?.detail?.room;
  const peer = directPeer(key, me()?.id);
  if (peer) return room?.name || `Direct: ${peer}`;
  return room?.name || key;
}

function lastActivity(entry) {
  return entry.last_message?.created_at ?? entry.room.created_at;
}

function roomListItem(entry, { unread, mentions }) {
  const key = entry.room.key;
  let item = state.roomNodes.get(key);
  if (!item) {
    item = el("li", { "data-room": key }, el("a", { href: `#/room/${encodeURIComponent(key)}` }));
    state.roomNodes.set(key, item);
  }
  const link = item.firstChild;
  if (state.open?.key === key) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  const last = entry.last_message;
  const preview = last
    ? `${last.sender.id === me().id ? "You" : displayName(last.sender)}: ${last.deleted_at ? "message deleted" : last.text}`
    : "No messages yet";
  const title = roomTitle(key);
  const signature = `${title}|${unread}|${mentions}|${preview}`;
  if (link.dataset.signature !== signature) {
    link.dataset.signature = signature;
    const mentionLabel = `${mentions} mention${mentions === 1 ? "" : "s"}`;
    link.replaceChildren(
      el("span", { class: "room-name" }, title),
      el(
        "span",
        { class: "badges" },
        mentions > 0 && el("span", { class: "badge mention", "aria-label": mentionLabel }, `@${mentions}`),
        unread > 0 && el("span", { class: "badge unread", "aria-label": `${unread} unread` }, String(unread)),
      ),
      el("span", { class: "preview" }, preview),
    );
  }
  return item;
}

function renderRoomList() {
  const entries = [...state.rooms.values()].sort((a, b) => lastActivity(b).localeCompare(lastActivity(a)));
  const countsOf = (entry) =>
    state.open?.key === entry.room.key && document.visibilityState === "visible"
      ? { unread: 0, mentions: 0 }
      : { unread: entry.unread_count, mentions: entry.mentions ?? 0 };
  for (const key of state.roomNodes.keys()) if (!state.rooms.has(key)) state.roomNodes.delete(key);
  const counts = entries.map(countsOf);
  reconcile(
    $("room-list"),
    entries.map((entry, i) => roomListItem(entry, counts[i])),
  );
  $("rooms-empty").hidden = entries.length > 0;
  const unread = counts.reduce((sum, c) => sum + c.unread, 0);
  const mentions = counts.reduce((sum, c) => sum + c.mentions, 0);
  const total = [unread > 0 && `${unread} unread`, mentions > 0 && `${mentions} @`].filter(Boolean);
  $("total-unread").textContent = total.join(" · ");
  document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
}

function applyInbox(key, inbox) {
  const entry = state.rooms.get(key);
  if (!entry) return false;
  entry.unread_count = inbox.unread;
  entry.mentions = inbox.mentions;
  entry.last_message = inbox.last_message;
  return true;
}

$("new-room").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  try {
    const room = await state.api.createRoom($("new-room-name").value.trim(), []);
    form.reset();
    await loadRooms();
    location.hash = `#/room/${encodeURIComponent(room.key)}`;
  } catch (error) {
    reportError(error);
  }
});

$("new-direct").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  try {
    const room = await state.api.direct($("new-direct-user").value.trim());
    form.reset();
    await loadRooms();
    location.hash = `#/room/${encodeURIComponent(room.key)}`;
  } catch (error) {
    reportError(error);
  }
});

// ---- opening and closing a room ----

function routeFromHash() {
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  const key = match ? decodeURIComponent(match[1]) : null;
  if (key === (state.open?.key ?? null)) return;
  closeRoom();
  if (key) openRoom(key);
}

window.addEventListener("hashchange", () => {
  if (state.session) routeFromHash();
});

async function openRoom(key) {
  const view = {
    key,
    peer: directPeer(key, me().id),
    detail: null,
    ready: false,
    subscribed: false,
    subscribing: false,
    watching: false,
    presence: null,
    occupancy: null,
    /** User id → `{name, timer}` of members typing now. */
    typing: new Map(),
    readSent: 0,
    typingSentAt: 0,
    /** Message nodes by `s<seq>` or `t<temp_id>`, reused across renders. */
    nodes: new Map(),
    /** The message whose reaction picker, edit box or delete question is showing, if any. */
    picker: null,
    editing: null,
    confirmDelete: null,
  };
  state.open = view;
  document.body.classList.add("room-open");
  $("room-empty").hidden = true;
  $("room-view").hidden = false;
  $("messages").replaceChildren();
  $("typing").textContent = "";
  $("members").open = false;
  renderRoomHeader();
  renderRoomList();
  try {
    const [detail] = await Promise.all([
      state.api.room(key),
      state.timelines.has(key) ? null : loadNewestPage(key),
    ]);
    if (state.open !== view) return;
    view.detail = detail;
    view.ready = true;
    renderRoomHeader();
    renderMembers();
    renderMessages({ toBottom: true });
    subscribeOpenRoom();
    $("composer-text").focus();
    applyFocus();
  } catch (error) {
    if (state.open !== view) return;
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      roomGone(key, "That room does not exist or you are not a member.");
    } else reportError(error);
  }
}

async function loadNewestPage(key) {
  const { messages } = await state.api.messages(key, { limit: PAGE_SIZE });
  const timeline = new Timeline();
  timeline.addHistory(messages, { newest: true, pageSize: PAGE_SIZE });
  state.timelines.set(key, timeline);
}

function closeRoom() {
  const view = state.open;
  if (!view) return;
  stopTyping();
  for (const { timer } of view.typing.values()) clearTimeout(timer);
  if (view.subscribed || view.subscribing) state.socket?.send({ type: "unsubscribe", room: view.key });
  if (view.watching) state.socket?.send({ type: "unwatch", user: view.peer });
  state.open = null;
  if (state.panel?.kind === "thread") closePanel();
  document.body.classList.remove("room-open");
  $("room-view").hidden = true;
  $("room-empty").hidden = false;
  renderRoomList();
}

/** I may no longer see `key` (removed, banned, deleted): forget it and say why. */
function roomGone(key, message) {
  state.rooms.delete(key);
  state.timelines.delete(key);
  for (const entry of state.outbox.inRoom(key)) state.outbox.confirm(entry.temp_id);
  saveOutbox();
  if (state.open?.key === key) {
    state.open.subscribed = false;
    state.open.subscribing = false;
    state.open.watching = false;
    history.replaceState(null, "", location.pathname);
    closeRoom();
  }
  renderRoomList();
  notify(message, "warning");
}

/** Subscribes the socket to the open room, resuming after the last seq seen (the server replays the gap). */
async function subscribeOpenRoom() {
  const view = state.open;
  if (!view?.ready || view.subscribing || view.subscribed || !state.socket?.open) return;
  const timeline = state.timelines.get(view.key);
  if (!timeline) return;
  view.subscribing = true;
  try {
    await state.socket.request({ type: "subscribe", room: view.key, since: timeline.lastSeq });
    view.subscribing = false;
    if (state.open !== view) {
      state.socket.send({ type: "unsubscribe", room: view.key });
      return;
    }
    view.subscribed = true;
    renderMessages();
    markRead();
    watchPeer(view);
  } catch (error) {
    view.subscribing = false;
    if (state.open !== view) return;
    if (error.code === "conflict") {
      // Too much was missed to replay: start again from the newest history page.
      state.timelines.delete(view.key);
      view.nodes.clear();
      await loadNewestPage(view.key).catch(reportError);
      renderMessages({ toBottom: true });
      subscribeOpenRoom();
    } else if (error.code === "forbidden" || error.code === "not_found") {
      roomGone(view.key, "You are no longer a member of that room.");
    }
    // A lost connection resubscribes on reconnect.
  }
}

async function watchPeer(view) {
  if (!view.peer || view.watching) return;
  try {
    const answer = await state.socket.request({ type: "watch", user: view.peer });
    if (state.open !== view) return;
    view.watching = true;
    view.presence = { online: answer.online, last_seen: answer.last_seen };
    renderRoomHeader();
  } catch {
    // Presence is a nicety: the room works without it.
  }
}

$("load-older").addEventListener("click", async () => {
  const view = state.open;
  const timeline = view && state.timelines.get(view.key);
  if (!timeline) return;
  const scroller = $("scroller");
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  try {
    const { messages } = await state.api.messages(view.key, { before: timeline.oldestSeq, limit: PAGE_SIZE });
    timeline.addHistory(messages, { newest: false, pageSize: PAGE_SIZE });
    if (state.open !== view) return;
    renderMessages();
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
  } catch (error) {
    reportError(error);
  }
});

// ---- rendering the open room ----

function renderRoomHeader() {
  const view = state.open;
  if (!view) return;
  $("room-title").textContent = roomTitle(view.key);
  const parts = [];
  if (view.peer) {
    if (view.presence?.online) parts.push("Online");
    else if (view.presence?.last_seen) parts.push(`Last seen ${moment(view.presence.last_seen)}`);
    else if (view.presence) parts.push("Offline");
  } else if (view.detail) {
    const count = view.detail.members.length;
    parts.push(`${count} member${count === 1 ? "" : "s"}`);
  }
  // In a direct room the peer's presence says it all; occupancy speaks of group rooms.
  if (!view.peer && view.occupancy !== null) parts.push(`${view.occupancy} here now`);
  const status = $("room-status");
  status.textContent = parts.join(" · ");
  status.dataset.online = String(Boolean(view.presence?.online));
}

function renderMembers() {
  const view = state.open;
  if (!view?.detail) return;
  const { members, role, room } = view.detail;
  $("member-list").replaceChildren(
    ...members.map((m) =>
      el(
        "li",
        {},
        el("span", {}, m.user_id === me().id ? `${m.user_id} (you)` : m.user_id),
        m.role !== "member" && el("span", { class: "role" }, m.role),
      ),
    ),
  );
  $("add-member").hidden = room.kind === "direct" || (role !== "owner" && role !== "admin");
}

/** Consecutive messages of one sender within this span share the first one's header. */
const FOLLOW_UP_MS = 5 * 60_000;

function followsPrevious(message, previous) {
  return (
    previous !== undefined &&
    previous.sender.id === message.sender.id &&
    Date.parse(message.created_at) - Date.parse(previous.created_at) < FOLLOW_UP_MS
  );
}

/** The node for `key` in `cache`, rebuilt only when what it shows (its `signature`) changed. */
function messageNode(cache, key, signature, build) {
  const known = cache.get(key);
  if (known?.dataset.signature === signature) return known;
  const node = build();
  node.dataset.signature = signature;
  known?.replaceWith(node);
  cache.set(key, node);
  return node;
}

/** Owners and admins moderate a room; in a direct room both members may pin. */
function moderates(view) {
  const detail = view?.detail;
  return detail?.room.kind === "direct" || detail?.role === "owner" || detail?.role === "admin";
}

function mentionsMe(message) {
  return message.mentions_room || (message.mentions ?? []).includes(me().id);
}

function messageBody(message) {
  if (message.deleted_at) return el("p", { class: "text deleted" }, "Message deleted");
  const text = message.text || (message.data !== null ? "[data]" : "");
  return el("p", { class: "text" }, text, message.edited_at && el("span", { class: "edited" }, " (edited)"));
}

const actionButton = (action, id, label, extra = {}) =>
  el("button", { type: "button", class: "quiet", "data-action": action, "data-id": id, ...extra }, label);

function reactionChips(message) {
  if (message.deleted_at || (message.reactions ?? []).length === 0) return null;
  return el(
    "div",
    { class: "reactions" },
    ...message.reactions.map((r) => {
      const mine = r.users.some((u) => u.id === me().id);
      const who = r.users.map(displayName).join(", ");
      return actionButton("react", message.id, `${r.emoji} ${r.count}`, {
        class: `chip${mine ? " mine" : ""}`,
        "data-emoji": r.emoji,
        "aria-pressed": String(mine),
        title: who,
      });
    }),
  );
}

function threadSummary(message) {
  const thread = message.thread;
  if (!thread || thread.replies_count === 0) return null;
  const count = `${thread.replies_count} repl${thread.replies_count === 1 ? "y" : "ies"}`;
  const last = thread.last_reply_at ? ` · last ${moment(thread.last_reply_at)}` : "";
  return actionButton("thread", message.id, `${count}${last}`, { class: "quiet thread-summary" });
}

/** What a message offers me: reply in its thread, react, edit and delete mine, pin as a moderator. */
function messageActions(view, message, { inThread }) {
  if (message.deleted_at) return null;
  const mine = message.sender.id === me().id;
  const id = message.id;
  const buttons = [
    !inThread && !message.to && actionButton("thread", id, "Reply"),
    actionButton("picker", id, "React", { "aria-expanded": String(view.picker === id) }),
    mine && actionButton("edit", id, "Edit"),
    (mine || moderates(view)) && actionButton("delete", id, "Delete"),
    !message.parent_id &&
      !message.to &&
      moderates(view) &&
      actionButton(message.pinned_at ? "unpin" : "pin", id, message.pinned_at ? "Unpin" : "Pin"),
  ];
  const picker =
    view.picker === id &&
    el(
      "div",
      { class: "picker", role: "group", "aria-label": "Reactions" },
      ...QUICK_REACTIONS.map((emoji) =>
        actionButton("react", id, emoji, { "data-emoji": emoji, "aria-label": `React ${emoji}` }),
      ),
    );
  return el("div", { class: "message-actions" }, ...buttons, picker);
}

/** Inline editing of my message. */
function messageEditor(view, message) {
  if (view.editing === message.id) {
    return el(
      "form",
      { class: "edit-form", "data-edit": message.id },
      el("label", { class: "visually-hidden", for: `edit-${message.id}` }, "Edit message"),
      el("textarea", { id: `edit-${message.id}`, rows: "2", maxlength: "8000" }, message.text),
      el(
        "span",
        { class: "actions" },
        el("button", { type: "submit" }, "Save"),
        actionButton("cancel-edit", message.id, "Cancel"),
      ),
    );
  }
  return null;
}

/** The question before deleting a message, under its text. */
function deleteQuestion(view, message) {
  if (view.confirmDelete !== message.id) return null;
  return el(
    "div",
    { class: "confirm", role: "group", "aria-label": "Delete this message?" },
    el("span", {}, "Delete this message?"),
    actionButton("confirm-delete", message.id, "Delete", { class: "quiet danger" }),
    actionButton("cancel-delete", message.id, "Keep"),
  );
}

/**
 * A confirmed message. `status` ("Sent", "Seen") is shown on my newest message only; `follows` hides a repeated
 * header; `inThread` leaves out what belongs to the room view (reply, thread summary).
 */
function sentMessageNode(view, cache, message, { status = null, follows = false, inThread = false } = {}) {
  const mine = message.sender.id === me().id;
  const ui = [view.picker, view.editing, view.confirmDelete].map((id) => id === message.id);
  const signature = JSON.stringify([
    message.id,
    message.version,
    message.edited_at,
    message.deleted_at,
    message.reactions,
    message.thread,
    message.pinned_at,
    status,
    follows,
    inThread,
    moderates(view),
    ui,
  ]);
  return messageNode(cache, `s${message.seq}`, signature, () => {
    const classes = ["message"];
    if (mine) classes.push("mine");
    if (follows) classes.push("follows");
    if (message.pinned_at) classes.push("pinned-message");
    if (!mine && !message.deleted_at && mentionsMe(message)) classes.push("mentions-me");
    return el(
      "li",
      {
        class: classes.join(" "),
        "data-seq": String(message.seq),
        "data-id": message.id,
        title: new Date(message.created_at).toLocaleString(),
      },
      el(
        "div",
        { class: "meta" },
        el("span", { class: "sender" }, mine ? "You" : displayName(message.sender)),
        message.to && el("span", { class: "whisper" }, ` → ${message.to === me().id ? "you" : message.to}`),
        " ",
        el("time", { datetime: message.created_at }, clock(message.created_at)),
        message.pinned_at && el("span", { class: "pin-mark" }, " · Pinned"),
      ),
      messageEditor(view, message) ?? messageBody(message),
      deleteQuestion(view, message),
      reactionChips(message),
      !inThread && threadSummary(message),
      status && el("span", { class: "status", "data-status": status.toLowerCase() }, status),
      messageActions(view, message, { inThread }),
    );
  });
}

function pendingMessageNode(cache, entry) {
  const label = {
    sending: state.socket?.open ? "Sending…" : "Waiting for connection…",
    waiting: "Sending too fast: will resend…",
    failed: `Not sent: ${entry.error}`,
  }[entry.state];
  const signature = `${entry.state}|${label}`;
  return messageNode(cache, `t${entry.temp_id}`, signature, () => {
    const actions =
      entry.state === "failed" &&
      el(
        "span",
        { class: "actions" },
        el("button", { type: "button", class: "quiet", "data-retry": entry.temp_id }, "Retry"),
        el("button", { type: "button", class: "quiet", "data-discard": entry.temp_id }, "Discard"),
      );
    return el(
      "li",
      { class: `message mine pending ${entry.state}`, "data-temp-id": entry.temp_id },
      el(
        "div",
        { class: "meta" },
        el("span", { class: "sender" }, "You"),
        " ",
        el("time", { datetime: entry.created_at }, clock(entry.created_at)),
      ),
      el("p", { class: "text" }, entry.text),
      el("span", { class: "status", "data-status": entry.state }, label),
      actions,
    );
  });
}

function renderMessages({ toBottom = false } = {}) {
  const view = state.open;
  const timeline = view && state.timelines.get(view.key);
  if (!timeline) return;
  const scroller = $("scroller");
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  const messages = timeline.ordered();
  const newestMine = messages.findLast((m) => m.sender.id === me().id);
  const nodes = [
    ...messages.map((m, i) => {
      const status = m === newestMine ? (timeline.seenByOthers(m.seq, m.sender.id) ? "Seen" : "Sent") : null;
      return sentMessageNode(view, view.nodes, m, { status, follows: followsPrevious(m, messages[i - 1]) });
    }),
    ...state.outbox
      .inRoom(view.key)
      .filter((entry) => !entry.parent_id)
      .map((entry) => pendingMessageNode(view.nodes, entry)),
  ];
  reconcile($("messages"), nodes);
  $("load-older").hidden = !timeline.hasOlder;
  renderPinned(messages);
  if (toBottom || nearBottom) scroller.scrollTop = scroller.scrollHeight;
  if (state.panel?.kind === "thread" && state.panel.room === view.key) renderThread();
}

/** The room's pinned messages among those loaded, newest pin first; each jumps to its message. */
function renderPinned(messages) {
  const pinned = messages
    .filter((m) => m.pinned_at && !m.deleted_at)
    .sort((a, b) => b.pinned_at.localeCompare(a.pinned_at));
  const list = $("pinned");
  list.hidden = pinned.length === 0;
  list.replaceChildren(
    ...pinned.map((m) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "quiet", "data-jump": String(m.seq) },
          el("span", { class: "pin-mark" }, "Pinned"),
          " ",
          el("span", { class: "sender" }, displayName(m.sender)),
          `: ${m.text}`,
        ),
      ),
    ),
  );
}

function renderTyping() {
  const view = state.open;
  if (!view) return;
  const names = [...view.typing.values()].map((t) => t.name);
  const text =
    names.length === 0
      ? ""
      : names.length === 1
        ? `${names[0]} is typing…`
        : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  $("typing").textContent = text;
}

/** Clicks on a message list (the room's or the thread's): outbox buttons and message actions. */
function onMessageClick(e) {
  const target = e.target.closest("button");
  if (!target) return;
  if (target.dataset.retry) {
    state.outbox.retry(target.dataset.retry);
    saveOutbox();
    flushOutbox();
  } else if (target.dataset.discard) {
    state.outbox.confirm(target.dataset.discard);
    saveOutbox();
  } else if (target.dataset.action) {
    messageAction(target.dataset.action, target.dataset.id, target.dataset.emoji);
  }
  renderMessages();
}

$("messages").addEventListener("click", onMessageClick);
$("panel-list").addEventListener("click", (e) => {
  if (state.panel?.kind === "thread") onMessageClick(e);
});

function onEditSubmit(e) {
  const form = e.target.closest("form[data-edit]");
  if (!form) return;
  e.preventDefault();
  saveEdit(form.dataset.edit, form.querySelector("textarea").value);
}
$("messages").addEventListener("submit", onEditSubmit);
$("panel-list").addEventListener("submit", onEditSubmit);

$("pinned").addEventListener("click", (e) => {
  const target = e.target.closest("button[data-jump]");
  if (target && state.open) showMessage(state.open, Number(target.dataset.jump));
});

// ---- message lifecycle: edit, delete, react, pin, threads ----

/** Runs a lifecycle request on the open room; its answer carries the message in its new state. */
async function roomRequest(view, frame) {
  try {
    const answer = await state.socket.request({ room: view.key, ...frame });
    if (answer.message) state.timelines.get(view.key)?.updateMessage(answer.message);
    return answer;
  } catch (error) {
    notify(error.code === "closed" ? "Not connected: try again in a moment." : error.message, "error");
    return null;
  } finally {
    if (state.open === view) renderMessages();
  }
}

function messageAction(action, id, emoji) {
  const view = state.open;
  if (!view) return;
  switch (action) {
    case "thread":
      return openThread(view.key, id);
    case "picker":
      view.picker = view.picker === id ? null : id;
      return;
    case "react":
      view.picker = null;
      return roomRequest(view, { type: "react", message_id: id, emoji, toggle: true });
    case "edit":
      view.editing = id;
      view.confirmDelete = null;
      renderMessages();
      return document.getElementById(`edit-${id}`)?.focus();
    case "cancel-edit":
      view.editing = null;
      return;
    case "delete":
      view.confirmDelete = id;
      view.editing = null;
      return;
    case "cancel-delete":
      view.confirmDelete = null;
      return;
    case "confirm-delete":
      view.confirmDelete = null;
      return roomRequest(view, { type: "delete", message_id: id });
    case "pin":
    case "unpin":
      return roomRequest(view, { type: action, message_id: id });
  }
}

async function saveEdit(id, text) {
  const view = state.open;
  const message = view && state.timelines.get(view.key)?.byId(id);
  if (!message) return;
  view.editing = null;
  if (text.trim() === "" || text === message.text) return renderMessages();
  await roomRequest(view, { type: "edit", message_id: id, text });
}

/** Scrolls the open room to message `seq` and marks it for a moment; says so when it is not loaded. */
function showMessage(view, seq) {
  const node = view.nodes.get(`s${seq}`);
  if (!node?.isConnected) {
    notify("That message is further back: load earlier messages to see it.");
    return;
  }
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 3_000);
}

// ---- the side panel: a thread, the notification feed, search results ----

function showPanel(panel, title) {
  state.panel = panel;
  document.body.classList.add("panel-open");
  $("panel").hidden = false;
  $("panel-title").textContent = title;
  $("panel-list").replaceChildren();
  $("panel-empty").hidden = true;
  $("panel-more").hidden = true;
  $("panel-action").hidden = true;
  $("thread-composer").hidden = panel.kind !== "thread";
}

function closePanel() {
  state.panel = null;
  document.body.classList.remove("panel-open");
  $("panel").hidden = true;
  $("open-notifications").setAttribute("aria-expanded", "false");
}

$("close-panel").addEventListener("click", () => closePanel());

/** Opens the thread of root `rootId` in room `key` (the open room) and loads its replies. */
async function openThread(key, rootId) {
  const panel = { kind: "thread", room: key, rootId, nodes: new Map(), loaded: false };
  showPanel(panel, "Thread");
  renderThread();
  try {
    const { messages } = await state.api.thread(key, rootId, THREAD_PAGE);
    const timeline = state.timelines.get(key);
    for (const message of messages) timeline?.putMessage(message);
    if (state.panel !== panel) return;
    panel.loaded = true;
    renderThread();
    markThreadRead();
    $("thread-text").focus();
  } catch (error) {
    if (state.panel === panel) closePanel();
    if (error instanceof ApiError && error.status === 404) notify("That thread is gone.", "warning");
    else reportError(error);
  }
}

function renderThread() {
  const panel = state.panel;
  const view = state.open;
  if (panel?.kind !== "thread" || view?.key !== panel.room) return;
  const timeline = state.timelines.get(panel.room);
  const root = timeline?.byId(panel.rootId);
  const replies = timeline?.replies(panel.rootId) ?? [];
  const nodes = [
    root && sentMessageNode(view, panel.nodes, root, { inThread: true }),
    ...replies.map((m, i) =>
      sentMessageNode(view, panel.nodes, m, { inThread: true, follows: followsPrevious(m, replies[i - 1]) }),
    ),
    ...state.outbox
      .inRoom(panel.room)
      .filter((entry) => entry.parent_id === panel.rootId)
      .map((entry) => pendingMessageNode(panel.nodes, entry)),
  ].filter(Boolean);
  reconcile($("panel-list"), nodes);
  const count = root?.thread?.replies_count ?? replies.length;
  $("panel-title").textContent = `Thread · ${count} repl${count === 1 ? "y" : "ies"}`;
  $("panel-empty").hidden = !panel.loaded || replies.length > 0;
  $("panel-empty").textContent = "No replies yet.";
  $("thread-composer").hidden = Boolean(root?.deleted_at);
  const list = $("panel-list");
  list.scrollTop = list.scrollHeight;
}

/** While a thread is open and the tab visible, its replies count as read. */
function markThreadRead() {
  const panel = state.panel;
  if (panel?.kind !== "thread" || !panel.loaded || document.visibilityState !== "visible") return;
  // A root without replies is no thread yet: there is nothing to mark.
  const newest = state.timelines.get(panel.room)?.replies(panel.rootId).at(-1)?.seq ?? 0;
  if (newest <= (panel.readUpTo ?? 0) || !state.socket?.open) return;
  panel.readUpTo = newest;
  state.socket.request({ type: "read_thread", room: panel.room, thread_id: panel.rootId }).catch(() => {
    // The root was deleted meanwhile, or the connection dropped: the marker is a nicety, not a message.
  });
}

$("thread-composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const panel = state.panel;
  const input = $("thread-text");
  const text = input.value.trim();
  if (panel?.kind !== "thread" || !text) return;
  input.value = "";
  state.outbox.add(panel.room, text, crypto.randomUUID(), { parentId: panel.rootId });
  saveOutbox();
  flushOutbox();
});

$("thread-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("thread-composer").requestSubmit();
  }
});

/** Opens room `room` at message `seq`, or at thread `threadId` (a search hit, a notification). */
function focusOn(target) {
  state.focus = target;
  const hash = `#/room/${encodeURIComponent(target.room)}`;
  if (state.open?.key === target.room && state.open.ready) applyFocus();
  else location.hash = hash;
}

/** Called when the open room is ready: shows the message or thread asked for, if any. */
function applyFocus() {
  const view = state.open;
  const focus = state.focus;
  if (!view?.ready || focus?.room !== view.key) return;
  state.focus = null;
  if (focus.threadId) openThread(view.key, focus.threadId);
  else if (focus.seq) showMessage(view, focus.seq);
}

// ---- notifications ----

/** Every connection asks for the feed's events, and the count is fetched again (some may have come since). */
async function followNotifications() {
  try {
    await state.socket.request({ type: "follow", scope: "notifications" });
    await loadFeed();
  } catch (error) {
    if (error instanceof ApiError) reportError(error);
  }
}

/** The feed's first page and count, fetched again when the feed changed while the page was on its way. */
async function loadFeed() {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const changes = state.feedChanges;
    const page = await state.api.notifications();
    if (state.feedChanges !== changes) continue;
    state.feed = { items: page.notifications, unread: page.unread, next: page.next_before, loaded: true };
    break;
  }
  renderFeed();
}

const NOTIFICATION_VERBS = {
  mention: "mentioned you",
  reply: "replied in a thread",
  direct: "wrote to you",
  added: "added you to",
};

function notificationNode(n) {
  const where = roomTitle(n.room);
  const what =
    n.kind === "added" ? `${NOTIFICATION_VERBS.added} ${where}` : `${NOTIFICATION_VERBS[n.kind]} in ${where}`;
  return el(
    "li",
    { class: `notification${n.read_at ? "" : " unread"}`, "data-notification": n.id },
    el(
      "button",
      { type: "button", class: "quiet", "data-open-notification": n.id },
      el("span", { class: "sender" }, displayName(n.actor)),
      ` ${what}`,
      n.text && el("span", { class: "preview" }, n.text),
      el("time", { datetime: n.created_at }, moment(n.created_at)),
    ),
  );
}

function renderFeed() {
  const count = $("notification-count");
  count.hidden = state.feed.unread === 0;
  count.textContent = String(state.feed.unread);
  $("open-notifications").setAttribute("aria-label", `Notifications, ${state.feed.unread} new`);
  if (state.panel?.kind !== "notifications") return;
  $("panel-list").replaceChildren(...state.feed.items.map(notificationNode));
  $("panel-empty").hidden = state.feed.items.length > 0;
  $("panel-empty").textContent = "Nothing yet.";
  $("panel-more").hidden = !state.feed.next;
  $("panel-action").hidden = state.feed.unread === 0;
  $("panel-action").textContent = "Mark all read";
}

$("open-notifications").addEventListener("click", async () => {
  if (state.panel?.kind === "notifications") return closePanel();
  showPanel({ kind: "notifications" }, "Notifications");
  $("open-notifications").setAttribute("aria-expanded", "true");
  renderFeed();
  await loadFeed().catch(reportError);
});

/** Marks one entry read (or all, without `id`) over the socket; the answer carries the new count. */
async function markNotificationsRead(id) {
  try {
    const answer = await state.socket.request({
      type: "notifications_read",
      ...(id ? { notification_id: id } : {}),
    });
    const now = new Date().toISOString();
    for (const item of state.feed.items) if (!id || item.id === id) item.read_at ??= now;
    state.feed.unread = answer.unread;
    state.feedChanges += 1;
    renderFeed();
  } catch (error) {
    notify(error.message, "error");
  }
}

$("panel-list").addEventListener("click", (e) => {
  const panel = state.panel;
  const notification = e.target.closest("button[data-open-notification]");
  if (panel?.kind === "notifications" && notification) {
    const entry = state.feed.items.find((n) => n.id === notification.dataset.openNotification);
    if (!entry) return;
    if (!entry.read_at) markNotificationsRead(entry.id);
    closePanel();
    focusOn({ room: entry.room, seq: entry.message_seq, threadId: entry.thread_id });
  }
  const hit = e.target.closest("button[data-hit]");
  if (panel?.kind === "search" && hit) {
    const message = panel.results.find((m) => m.id === hit.dataset.hit);
    if (message) focusOn({ room: message.room, seq: message.seq, threadId: message.parent_id });
  }
});

$("panel-action").addEventListener("click", () => {
  if (state.panel?.kind === "notifications") markNotificationsRead(null);
});

$("panel-more").addEventListener("click", async () => {
  const panel = state.panel;
  try {
    if (panel?.kind === "notifications" && state.feed.next) {
      const page = await state.api.notifications(state.feed.next);
      state.feed.items.push(...page.notifications);
      state.feed.next = page.next_before;
      state.feed.unread = page.unread;
      renderFeed();
    } else if (panel?.kind === "search" && panel.next) {
      const page = await state.api.search(panel.q, panel.next);
      if (state.panel !== panel) return;
      panel.results.push(...page.messages);
      panel.next = page.next_cursor;
      renderSearch();
    }
  } catch (error) {
    reportError(error);
  }
});

function handleNotificationEvent(event) {
  state.feedChanges += 1;
  if (event.type === "notification") {
    if (!state.feed.items.some((n) => n.id === event.notification.id))
      state.feed.items.unshift(event.notification);
  } else {
    state.feed.unread = event.unread;
    if (event.type === "notifications_reset") {
      const now = new Date().toISOString();
      for (const item of state.feed.items) item.read_at ??= now;
    }
  }
  renderFeed();
}

// ---- search ----

$("search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("search-text").value.trim();
  if (!q) return;
  const panel = { kind: "search", q, results: [], next: null, loaded: false };
  showPanel(panel, `Search: ${q}`);
  try {
    const page = await state.api.search(q);
    if (state.panel !== panel) return;
    panel.results = page.messages;
    panel.next = page.next_cursor;
    panel.loaded = true;
    renderSearch();
  } catch (error) {
    if (state.panel === panel) closePanel();
    reportError(error);
  }
});

function renderSearch() {
  const panel = state.panel;
  if (panel?.kind !== "search") return;
  $("panel-list").replaceChildren(
    ...panel.results.map((m) =>
      el(
        "li",
        { class: "hit" },
        el(
          "button",
          { type: "button", class: "quiet", "data-hit": m.id },
          el(
            "span",
            { class: "hit-meta" },
            el("span", { class: "sender" }, displayName(m.sender)),
            ` in ${roomTitle(m.room)}${m.parent_id ? " (thread)" : ""} · `,
            el("time", { datetime: m.created_at }, moment(m.created_at)),
          ),
          el("span", { class: "text" }, m.text),
        ),
      ),
    ),
  );
  $("panel-empty").hidden = !panel.loaded || panel.results.length > 0;
  $("panel-empty").textContent = "No messages found.";
  $("panel-more").hidden = !panel.next;
}

// ---- members ----

$("add-member").addEventListener("submit", async (e) => {
  e.preventDefault();
  const view = state.open;
  const form = e.currentTarget;
  const userId = $("add-member-user").value.trim();
  try {
    await state.api.addMember(view.key, userId);
    form.reset();
    notify(`Added ${userId}.`);
    await refreshDetail(view);
  } catch (error) {
    reportError(error);
  }
});

async function refreshDetail(view) {
  try {
    const detail = await state.api.room(view.key);
    if (state.open !== view) return;
    view.detail = detail;
    renderRoomHeader();
    renderMembers();
  } catch (error) {
    reportError(error);
  }
}

// ---- sending ----

function saveOutbox() {
  sessionStorage.setItem(OUTBOX_KEY, JSON.stringify({ user: me().id, entries: state.outbox.toJSON() }));
}

/** Sends what is due (see `Outbox.due`); called again by every answer, so each room's queue moves on. */
function flushOutbox() {
  clearTimeout(state.retryTimer);
  if (state.socket?.open) {
    for (const entry of state.outbox.due(state.connection)) {
      const reply = entry.parent_id ? { parent_id: entry.parent_id } : {};
      state.socket.send({
        type: "send",
        room: entry.room,
        temp_id: entry.temp_id,
        text: entry.text,
        ...reply,
      });
      state.outbox.markSent(entry.temp_id, state.connection);
    }
    saveOutbox();
  }
  const next = state.outbox.nextRetryAt();
  if (next !== null) state.retryTimer = setTimeout(flushOutbox, Math.max(0, next - Date.now()));
  renderMessages();
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const view = state.open;
  const input = $("composer-text");
  const text = input.value.trim();
  if (!view || !text) return;
  input.value = "";
  stopTyping();
  state.outbox.add(view.key, text, crypto.randomUUID());
  saveOutbox();
  flushOutbox();
  renderMessages({ toBottom: true });
});

$("composer-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

// ---- typing ----

$("composer-text").addEventListener("input", (e) => {
  const view = state.open;
  if (!view?.subscribed) return;
  if (!e.currentTarget.value.trim()) return stopTyping();
  if (Date.now() - view.typingSentAt < TYPING_RENEW_MS) return;
  view.typingSentAt = Date.now();
  state.socket.send({ type: "typing", room: view.key, typing: true });
});

$("composer-text").addEventListener("blur", () => stopTyping());

function stopTyping() {
  const view = state.open;
  if (!view?.typingSentAt) return;
  view.typingSentAt = 0;
  state.socket?.send({ type: "typing", room: view.key, typing: false });
}

// ---- read markers ----

/** Marks the open room read up to the newest seq, when someone can actually see it. */
function markRead() {
  const view = state.open;
  const timeline = view && state.timelines.get(view.key);
  if (!view?.subscribed || !timeline || document.visibilityState !== "visible") return;
  const seq = timeline.lastSeq;
  const entry = state.rooms.get(view.key);
  if (entry) {
    entry.unread_count = 0;
    entry.mentions = 0;
  }
  renderRoomList();
  if (seq <= view.readSent) return;
  view.readSent = seq;
  state.socket.send({ type: "read", room: view.key, seq });
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    markRead();
    markThreadRead();
  } else stopTyping();
});

// ---- events ----

function handleEvent(event) {
  switch (event.type) {
    case "message":
    case "member_joined":
    case "member_left":
    case "room_updated":
    case "room_deleted":
    case "message_updated":
    case "message_deleted":
    case "reaction_changed":
    case "message_pinned":
      return handleDurable(event);
    case "notification":
    case "notification_count":
    case "notifications_reset":
      return handleNotificationEvent(event);
    case "ack":
      return handleAck(event);
    case "error":
      return handleSendError(event);
    case "typing":
      return handleTyping(event);
    case "read":
      return handleRead(event);
    case "occupancy":
      if (state.open?.key === event.room) {
        state.open.occupancy = event.participant_count;
        renderRoomHeader();
      }
      return;
    case "presence":
      if (state.open?.peer === event.user_id) {
        state.open.presence = { online: event.online, last_seen: event.last_seen };
        renderRoomHeader();
      }
      return;
    case "inbox":
      if (!applyInbox(event.room, event)) {
        state.unlistedInbox.set(event.room, event);
        loadRooms();
      }
      return renderRoomList();
    case "room_added":
      return loadRooms();
  }
}

function handleDurable(event) {
  const key = event.room;
  state.timelines.get(key)?.addDurable(event);
  const open = state.open?.key === key ? state.open : null;
  switch (event.type) {
    case "message": {
      const message = event.message;
      if (message.sender.id === me().id && message.temp_id && state.outbox.confirm(message.temp_id)) {
        saveOutbox();
        flushOutbox();
      }
      const entry = state.rooms.get(key);
      if (entry) {
        entry.last_message = message;
        const seen = open && document.visibilityState === "visible";
        if (message.sender.id !== me().id && !seen) entry.unread_count += 1;
        renderRoomList();
      }
      // The peer writing accepts the direct room, which is what lets me see their presence.
      if (open?.peer === message.sender.id && !open.watching) watchPeer(open);
      break;
    }
    case "member_left":
      if (event.user_id === me().id) {
        const title = roomTitle(key);
        roomGone(
          key,
          event.reason === "left" ? `You left ${title}.` : `You were ${event.reason} from ${title}.`,
        );
        return;
      }
      if (open) refreshDetail(open);
      break;
    case "member_joined":
      if (open) refreshDetail(open);
      break;
    case "room_updated": {
      const entry = state.rooms.get(key);
      if (entry) entry.room = event.info;
      if (open?.detail) open.detail.room = event.info;
      renderRoomList();
      renderRoomHeader();
      break;
    }
    case "room_deleted":
      roomGone(key, `${roomTitle(key)} was deleted.`);
      return;
  }
  if (open) {
    renderMessages();
    markRead();
    markThreadRead();
  }
}

function handleAck(ack) {
  const entry = state.outbox.confirm(ack.temp_id);
  if (!entry) return;
  saveOutbox();
  flushOutbox();
  const message = {
    id: ack.id,
    room: ack.room,
    seq: ack.seq,
    sender: { id: me().id, name: me().name, avatar: null },
    type: "text",
    text: entry.text,
    custom_type: null,
    data: null,
    to: null,
    parent_id: entry.parent_id,
    temp_id: ack.temp_id,
    created_at: ack.created_at,
    edited_at: null,
    deleted_at: null,
  };
  state.timelines.get(ack.room)?.addOwn(message);
  const listed = state.rooms.get(ack.room);
  if (listed && (listed.last_message?.seq ?? 0) < ack.seq) listed.last_message = message;
  renderRoomList();
  if (state.open?.key === ack.room) renderMessages();
}

function handleSendError(error) {
  if (!error.temp_id || !state.outbox.get(error.temp_id)) {
    notify(error.message, "error");
    return;
  }
  if (error.code === "rate_limited") state.outbox.delay(error.temp_id, error.retry_after);
  else state.outbox.fail(error.temp_id, error.message);
  saveOutbox();
  flushOutbox();
}

function handleTyping(event) {
  const view = state.open;
  if (view?.key !== event.room || event.user.id === me().id) return;
  clearTimeout(view.typing.get(event.user.id)?.timer);
  if (event.typing) {
    const timer = setTimeout(() => {
      view.typing.delete(event.user.id);
      renderTyping();
    }, TYPING_SHOWN_MS);
    view.typing.set(event.user.id, { name: displayName(event.user), timer });
  } else view.typing.delete(event.user.id);
  renderTyping();
}

function handleRead(event) {
  // My own markers reach my other rooms' counts through inbox events.
  if (event.user_id === me().id) return;
  state.timelines.get(event.room)?.noteRead(event.user_id, event.seq);
  if (state.open?.key === event.room) renderMessages();
}

// ---- start ----

const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
if (stored?.token && stored.user) startChat(stored);
else showSignIn();
