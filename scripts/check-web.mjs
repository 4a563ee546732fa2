/**
 * Browser check of the web client (docs/web-client.md): two people in two browser contexts chat through the
 * real UI against a running server. `test/e2e/web-client.test.ts` runs its lifecycle part in `npm test`.
 *
 *   npm run check:web                         # against http://127.0.0.1:8787, every part
 *   PARLEY_URL=http://127.0.0.1:9000 npm run check:web
 *   PARLEY_CHECK=lifecycle npm run check:web  # only edit, delete, react, pin, threads, badges, feed, search
 *
 * Uses the system Chromium (`chromium` on PATH, Debian's package), never a downloaded browser; Playwright gives
 * each launch a fresh temporary profile (`--user-data-dir`). Screenshots go to PARLEY_SHOTS (default: a new
 * temporary directory). Every wait is bounded; the run stops at the first failed step.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE_URL = (process.env.PARLEY_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const SHOTS = process.env.PARLEY_SHOTS ?? mkdtempSync(join(tmpdir(), "parley-web-"));
/** `all` (default): the chat basics and the lifecycle; `lifecycle`: the lifecycle only. */
const PARTS = process.env.PARLEY_CHECK ?? "all";
/** Longest wait for any one thing to show up in a page. */
const WAIT_MS = 15_000;
/** Messages written in one go by the burst step. */
const BURST = 40;
/** The whole run, whatever hangs. */
const RUN_LIMIT_MS = 5 * 60_000;

const run = Date.now().toString(36);
const alice = { id: `alice-${run}`, name: "Alice" };
const bob = { id: `bob-${run}`, name: "Bob" };

let passed = 0;
let failed = 0;
const shots = [];
/** Pages to photograph when a step fails, by name. */
const witnesses = new Map();

async function step(name, body) {
  if (failed > 0) return;
  const started = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name} (${Date.now() - started} ms)`);
    console.log(`  ${String(error?.stack ?? error).replaceAll("\n", "\n  ")}`);
    for (const [who, page] of witnesses) await shot(page, `failed-${who}`).catch(() => {});
  }
}

/** The chat basics run only when the whole check is asked for. */
const coreStep = PARTS === "all" ? step : async () => {};

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  const path = join(SHOTS, `parley-web-${name}.png`);
  await page.screenshot({ path });
  shots.push(path);
}

/** The messages a page shows, in order: confirmed ones carry their seq, pending ones their temp id. */
const shownMessages = (page) =>
  page.$$eval("#messages li.message", (items) =>
    items.map((li) => ({
      seq: li.dataset.seq ? Number(li.dataset.seq) : null,
      pending: li.classList.contains("pending"),
      sender: li.querySelector(".sender")?.textContent ?? "",
      text: li.querySelector(".text")?.textContent ?? "",
    })),
  );

/** Waits until every one of `texts` is shown as a confirmed (acknowledged, sequenced) message. */
async function waitForConfirmed(page, texts, timeout = WAIT_MS) {
  await page.waitForFunction(
    (wanted) => {
      const confirmed = new Set(
        [...document.querySelectorAll("#messages li.message[data-seq] .text")].map((n) => n.textContent),
      );
      return wanted.every((t) => confirmed.has(t));
    },
    texts,
    { timeout },
  );
}

/** No page shows a JavaScript value where text belongs (the check's own messages contain none of these). */
async function assertNoStrayValues(page, who) {
  const text = await page.locator("body").innerText();
  const stray = /\b(undefined|null|false|true|NaN)\b|\[object Object\]/.exec(text);
  assert(!stray, `${who}'s page shows "${stray?.[0]}"`);
}

/** Same order and seqs on both pages, strictly increasing seqs, no duplicates, nothing pending. */
async function assertSameTimeline(pageA, pageB) {
  await assertNoStrayValues(pageA, "alice");
  await assertNoStrayValues(pageB, "bob");
  const [a, b] = [await shownMessages(pageA), await shownMessages(pageB)];
  for (const [who, list] of [
    ["alice", a],
    ["bob", b],
  ]) {
    assert(!list.some((m) => m.pending), `${who} still shows pending messages`);
    for (let i = 1; i < list.length; i += 1) {
      assert(list[i].seq > list[i - 1].seq, `${who}: seq ${list[i].seq} follows ${list[i - 1].seq}`);
    }
    const texts = list.map((m) => m.text);
    assert(new Set(texts).size === texts.length, `${who} shows a message twice`);
  }
  const key = (list) => list.map((m) => `${m.seq}:${m.text}`).join("\n");
  assert(key(a) === key(b), `the two timelines differ:\n--- alice\n${key(a)}\n--- bob\n${key(b)}`);
  return a;
}

/** `texts` appear in this order among the page's messages. */
function assertInOrder(list, texts, who) {
  const positions = texts.map((t) => list.findIndex((m) => m.text === t));
  assert(!positions.includes(-1), `${who} is missing ${texts[positions.indexOf(-1)]}`);
  for (let i = 1; i < positions.length; i += 1) {
    assert(positions[i] > positions[i - 1], `${who} shows "${texts[i]}" before "${texts[i - 1]}"`);
  }
}

/** The confirmed message showing `text`, in the room (or in the thread panel with `where` "#panel-list"). */
const messageOf = (page, text, where = "#messages") =>
  page.locator(`${where} li.message[data-seq]`).filter({ hasText: text });

/** Clicks a message's action (shown while the message is hovered). */
async function act(message, name) {
  await message.hover();
  await message.locator(".message-actions").getByRole("button", { name, exact: true }).click();
}

/** Runs a search until it finds `text` (search reads D1, which trails the room by one flush). */
async function searchUntilFound(page, query, text) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await page.locator("#search-text").fill(query);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const hit = page.locator("#panel-list li.hit").filter({ hasText: text });
    const settled = page.locator("#panel-list li.hit, #panel-empty:not([hidden])").first();
    await settled.waitFor();
    if ((await hit.count()) > 0) return hit;
    if (Date.now() > deadline) throw new Error(`search for "${query}" never found "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Alice creates a group room called `name`, adds bob from the Members panel, and returns its key. */
async function createRoomWithBob(a, name) {
  await a.locator("#new-room-name").fill(name);
  await a.getByRole("button", { name: "Create" }).click();
  await a.locator("#room-title").filter({ hasText: name }).waitFor();
  const key = decodeURIComponent(new URL(a.url()).hash.replace("#/room/", ""));
  assert(key, "no room in the URL");
  await a.locator("#members summary").click();
  await a.locator("#add-member-user").fill(bob.id);
  await a.getByRole("button", { name: "Add", exact: true }).click();
  await a.locator("#member-list li").filter({ hasText: bob.id }).waitFor();
  return key;
}

async function send(page, text) {
  await page.locator("#composer-text").fill(text);
  await page.locator("#composer-text").press("Enter");
}

async function signIn(page, user) {
  await page.goto(BASE_URL, { timeout: WAIT_MS });
  await page.locator("#sign-in-user").fill(user.id);
  await page.locator("#sign-in-name").fill(user.name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#connection[data-state='open']").waitFor({ timeout: WAIT_MS });
}

async function serverIsUp() {
  try {
    const response = await fetch(`${BASE_URL}/health`, { signal: AbortSignal.timeout(5_000) });
    return response.ok;
  } catch {
    return false;
  }
}

if (!["all", "lifecycle"].includes(PARTS)) {
  console.error(`PARLEY_CHECK is "all" or "lifecycle", not "${PARTS}".`);
  process.exit(2);
}

if (!(await serverIsUp())) {
  console.error(`No Parley server answers at ${BASE_URL}/health: start one with \`npm start\` first.`);
  process.exit(2);
}

let executablePath;
try {
  executablePath = execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
} catch {
  console.error("No `chromium` on PATH: install Debian's package (apt-get install -y chromium).");
  process.exit(2);
}

setTimeout(() => {
  console.log(`not ok - the check did not finish within ${RUN_LIMIT_MS / 1000} s`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, RUN_LIMIT_MS).unref();

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: WAIT_MS,
});

/**
 * Bob's socket runs through a relay the check controls: it records the sends and acks, can lose an ack together
 * with the connection, can lose sends, and can answer one send with `rate_limited` in the server's place. (The server's own limit,
 * 10/s after a burst of 30, is out of reach of one tab: the client keeps one message per room in flight.)
 */
const relay = {
  dropNextAck: false,
  dropped: 0,
  refuseText: null,
  refusedAt: 0,
  swallowSends: false,
  sends: [],
  acks: [],
};

/** Polls a condition of the check's own (not a page's) until it holds. */
async function until(condition, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

try {
  const aliceContext = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const bobContext = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const a = await aliceContext.newPage();
  const b = await bobContext.newPage();
  a.setDefaultTimeout(WAIT_MS);
  b.setDefaultTimeout(WAIT_MS);
  witnesses.set("alice", a).set("bob", b);
  await b.routeWebSocket(/\/v1\/ws/, (pageSide) => {
    const serverSide = pageSide.connectToServer();
    pageSide.onMessage((message) => {
      const frame = typeof message === "string" && message.startsWith("{") ? JSON.parse(message) : null;
      if (frame?.type === "send") {
        relay.sends.push({ temp_id: frame.temp_id, text: frame.text, at: Date.now() });
        if (frame.text === relay.refuseText) {
          relay.refuseText = null;
          relay.refusedAt = Date.now();
          const refusal = { type: "error", temp_id: frame.temp_id, code: "rate_limited", retry_after: 1 };
          pageSide.send(JSON.stringify({ ...refusal, message: "sending too fast" }));
          return;
        }
        if (relay.swallowSends) return;
      }
      serverSide.send(message);
    });
    serverSide.onMessage((message) => {
      const frame = typeof message === "string" && message.startsWith("{") ? JSON.parse(message) : null;
      const frames = frame?.type === "batch" ? frame.events : frame ? [frame] : [];
      const acks = frames.filter((f) => f.type === "ack");
      relay.acks.push(...acks);
      if (relay.dropNextAck && acks.length > 0) {
        // The ack (and anything batched with it) never reaches the page, and the connection drops.
        relay.dropNextAck = false;
        relay.dropped += 1;
        pageSide.close({ code: 4009, reason: "check: connection lost" });
        return;
      }
      pageSide.send(message);
    });
  });

  let roomKey = "";
  const exchanged = [];

  await step("the sign-in page renders", async () => {
    await a.goto(BASE_URL, { timeout: WAIT_MS });
    await a.locator("#sign-in-user").waitFor();
    await shot(a, "sign-in");
  });

  await step("both users sign in with dev tokens and connect", async () => {
    await signIn(a, alice);
    await signIn(b, bob);
    assert((await a.locator("#whoami").textContent()).includes(alice.id), "alice's name is not shown");
  });

  // ---- the message lifecycle: badges, the feed, edit, react, threads, pins, delete, search ----

  let lifeKey = "";
  const mention = `hello @${bob.id}, see the plan`;

  await step("a mention in a room bob has not opened: unread, mention and notification badges", async () => {
    lifeKey = await createRoomWithBob(a, `Lifecycle ${run}`);
    await a.locator("#members summary").click();
    await send(a, mention);
    await send(a, "second thought");
    await waitForConfirmed(a, [mention, "second thought"]);
    const entry = b.locator(`#room-list li[data-room="${lifeKey}"]`);
    await entry.locator(".badge.unread").filter({ hasText: "2" }).waitFor();
    await entry.locator(".badge.mention").filter({ hasText: "@1" }).waitFor();
    await b.locator("#total-unread").filter({ hasText: "1 @" }).waitFor();
    // Being added by alice, and her mention.
    await b.locator("#notification-count").filter({ hasText: "2" }).waitFor();
    await shot(b, "bob-badges");
  });

  await step("bob's notification feed: open the mention, then mark all read", async () => {
    await b.locator("#open-notifications").click();
    const entry = b.locator("#panel-list li.notification.unread").filter({ hasText: "mentioned you" });
    await entry.waitFor();
    assert((await entry.textContent()).includes("see the plan"), "the mention entry has no preview");
    await b.locator("#panel-list li.notification").filter({ hasText: "added you to" }).waitFor();
    await shot(b, "bob-notifications");
    await entry.locator("button").click();
    await b
      .locator("#room-title")
      .filter({ hasText: `Lifecycle ${run}` })
      .waitFor();
    await messageOf(b, mention).and(b.locator(".highlight")).waitFor();
    await b.locator("#notification-count").filter({ hasText: "1" }).waitFor();
    await b.locator(`#room-list li[data-room="${lifeKey}"] .badge`).first().waitFor({ state: "detached" });
    assert(
      await messageOf(b, mention).evaluate((li) => li.classList.contains("mentions-me")),
      "no mention mark",
    );
    await b.locator("#open-notifications").click();
    await b.getByRole("button", { name: "Mark all read" }).click();
    await b.locator("#notification-count").waitFor({ state: "hidden" });
    assert((await b.locator("#panel-list li.notification.unread").count()) === 0, "entries stay unread");
    await b.locator("#close-panel").click();
  });

  await step("alice edits her message; bob sees the new text, and may not edit it himself", async () => {
    await act(messageOf(a, "second thought"), "Edit");
    await a.locator("#messages form[data-edit] textarea").fill("second thought, revised");
    await a.locator("#messages form[data-edit]").getByRole("button", { name: "Save" }).click();
    const edited = messageOf(b, "second thought, revised");
    await edited.locator(".edited").waitFor();
    await messageOf(a, "second thought, revised").locator(".edited").waitFor();
    await edited.hover();
    const bobsActions = await edited.locator(".message-actions button").allTextContents();
    assert(!bobsActions.includes("Edit") && !bobsActions.includes("Delete"), `bob may: ${bobsActions}`);
    assert(!bobsActions.includes("Pin"), "a plain member is offered Pin");
  });

  await step("reactions: both react, the count follows, a second click takes it back", async () => {
    await act(messageOf(b, mention), "React");
    await messageOf(b, mention).getByRole("button", { name: "React 👍" }).click();
    await messageOf(a, mention).locator(".reactions .chip").filter({ hasText: "👍 1" }).waitFor();
    await messageOf(a, mention).locator(".reactions .chip").filter({ hasText: "👍" }).click();
    await messageOf(b, mention).locator(".reactions .chip").filter({ hasText: "👍 2" }).waitFor();
    await act(messageOf(a, mention), "React");
    await messageOf(a, mention).getByRole("button", { name: "React 🎉" }).click();
    await messageOf(b, mention).locator(".reactions .chip").filter({ hasText: "🎉 1" }).waitFor();
    await messageOf(b, mention).locator(".reactions .chip").filter({ hasText: "👍" }).click();
    await messageOf(a, mention).locator(".reactions .chip").filter({ hasText: "👍 1" }).waitFor();
    const chip = messageOf(a, mention).locator(".reactions .chip").filter({ hasText: "👍" });
    assert((await chip.getAttribute("aria-pressed")) === "true", "alice's own reaction is not marked");
  });

  await step("a thread: bob replies in the panel, alice sees the count and answers there", async () => {
    await act(messageOf(b, mention), "Reply");
    await b.locator("#panel-title").filter({ hasText: "Thread" }).waitFor();
    await b.locator("#thread-text").fill("reply from bob");
    await b.locator("#thread-text").press("Enter");
    await messageOf(b, "reply from bob", "#panel-list").waitFor();
    const summary = messageOf(a, mention).locator(".thread-summary");
    await summary.filter({ hasText: "1 reply" }).waitFor();
    await summary.click();
    await messageOf(a, "reply from bob", "#panel-list").waitFor();
    await a.locator("#thread-text").fill("answer from alice");
    await a.locator("#thread-text").press("Enter");
    await messageOf(b, "answer from alice", "#panel-list").waitFor();
    await messageOf(b, mention).locator(".thread-summary").filter({ hasText: "2 replies" }).waitFor();
    for (const [who, page] of [
      ["alice", a],
      ["bob", b],
    ]) {
      const roomTexts = (await shownMessages(page)).map((m) => m.text);
      assert(!roomTexts.some((t) => t.includes("reply from bob")), `${who}'s room shows a thread reply`);
    }
    // Bob replied, so alice's answer is in his feed.
    await b.locator("#notification-count").filter({ hasText: "1" }).waitFor();
    await shot(a, "alice-thread");
    await shot(b, "bob-thread");
    await a.locator("#close-panel").click();
    await b.locator("#close-panel").click();
  });

  await step("alice pins a message: both see it pinned; unpinning takes it away", async () => {
    await act(messageOf(a, mention), "Pin");
    await b.locator("#pinned li").filter({ hasText: "see the plan" }).waitFor();
    await messageOf(b, mention).locator(".pin-mark").waitFor();
    await shot(b, "bob-pinned");
    await act(messageOf(a, "second thought, revised"), "Pin");
    await b.locator("#pinned li").filter({ hasText: "second thought" }).waitFor();
    await act(messageOf(a, "second thought, revised"), "Unpin");
    await b.locator("#pinned li").filter({ hasText: "second thought" }).waitFor({ state: "detached" });
    assert(await b.locator("#pinned").isVisible(), "the other pin went too");
  });

  await step("alice deletes her message after confirming; both see the tombstone", async () => {
    const target = messageOf(a, "second thought, revised");
    const seq = await target.getAttribute("data-seq");
    await act(target, "Delete");
    await target.getByRole("button", { name: "Keep" }).click();
    await act(target, "Delete");
    await target.locator(".confirm").getByRole("button", { name: "Delete" }).click();
    for (const page of [a, b]) {
      await page.locator(`#messages li.message[data-seq="${seq}"] .text.deleted`).waitFor();
    }
    await shot(a, "alice-deleted");
  });

  await step("search: bob finds alice's message and opens it; the deleted one is not found", async () => {
    await send(a, "closing words");
    await waitForConfirmed(a, ["closing words"]);
    await b.locator(`#room-list li[data-room="${lifeKey}"]`).click();
    await searchUntilFound(b, "closing", "closing words");
    const hit = await searchUntilFound(b, "plan", "see the plan");
    await shot(b, "bob-search");
    await hit.locator("button").click();
    await messageOf(b, mention).and(b.locator(".highlight")).waitFor();
    await b.locator("#search-text").fill("revised");
    await b.getByRole("button", { name: "Search", exact: true }).click();
    await b.locator("#panel-empty").filter({ hasText: "No messages found." }).waitFor();
    await b.locator("#close-panel").click();
  });

  await step("no refusal or failure was shown on either page", async () => {
    for (const [who, page] of witnesses) {
      const errors = await page.locator(".notice.error").allTextContents();
      assert(errors.length === 0, `${who} was shown: ${errors.join("; ")}`);
    }
  });

  await coreStep("alice creates a group room and adds bob", async () => {
    roomKey = await createRoomWithBob(a, `Launch ${run}`);
    await shot(a, "alice-members");
    await a.locator("#members summary").click();
    await a.locator("#room-status").filter({ hasText: "2 members" }).waitFor();
  });

  await coreStep("bob's room list learns of the new room from an inbox event, with 1 unread", async () => {
    await send(a, "Welcome, Bob!");
    exchanged.push("Welcome, Bob!");
    await waitForConfirmed(a, ["Welcome, Bob!"]);
    const entry = b.locator(`#room-list li[data-room="${roomKey}"]`);
    await entry.locator(".badge").filter({ hasText: "1" }).waitFor();
    assert((await entry.locator(".preview").textContent()).includes("Welcome, Bob!"), "no preview");
  });

  await coreStep("bob opens the room: history loads and the unread count clears", async () => {
    await b.locator(`#room-list li[data-room="${roomKey}"] a`).click();
    await waitForConfirmed(b, ["Welcome, Bob!"]);
    await b.locator(`#room-list li[data-room="${roomKey}"] .badge`).waitFor({ state: "detached" });
  });

  await coreStep("both see the other arrive (occupancy 2 here now)", async () => {
    await a.locator("#room-status").filter({ hasText: "2 here now" }).waitFor();
    await b.locator("#room-status").filter({ hasText: "2 here now" }).waitFor();
  });

  await coreStep(
    "messages sent at the same time from both sides arrive once, in one order for both",
    async () => {
      const fromAlice = ["a1: shipping today?", "a2: <b>not bold</b> & <script>x</script>", "a3: 🚀"];
      const fromBob = ["b1: yes", "b2: after lunch", "b3: line one\nline two"];
      await Promise.all([
        (async () => {
          for (const t of fromAlice) await send(a, t);
        })(),
        (async () => {
          for (const t of fromBob) await send(b, t);
        })(),
      ]);
      exchanged.push(...fromAlice, ...fromBob);
      await waitForConfirmed(a, exchanged);
      await waitForConfirmed(b, exchanged);
      const list = await assertSameTimeline(a, b);
      assertInOrder(list, fromAlice, "the timeline");
      assertInOrder(list, fromBob, "the timeline");
      const markup = await a
        .locator("#messages li.message .text")
        .filter({ hasText: "not bold" })
        .innerHTML();
      assert(!markup.includes("<b>"), "message text was parsed as HTML");
    },
  );

  await coreStep("alice sees bob typing, and the indicator goes when he stops", async () => {
    await b.locator("#composer-text").pressSequentially("I am typing", { delay: 20 });
    await a.locator("#typing").filter({ hasText: "Bob is typing" }).waitFor();
    await shot(a, "alice-room-typing");
    await b.locator("#composer-text").fill("");
    await a.waitForFunction(() => document.getElementById("typing").textContent === "", null, {
      timeout: WAIT_MS,
    });
  });

  await coreStep("alice's messages show as seen once bob has read them", async () => {
    await a.locator("#messages li.message.mine").last().locator(".status[data-status='seen']").waitFor();
  });

  await coreStep("bob reloads while alice writes: nothing lost, nothing twice", async () => {
    const duringReload = ["r1: while you reload", "r2: still there?"];
    await b.reload({ timeout: WAIT_MS });
    for (const t of duringReload) await send(a, t);
    exchanged.push(...duringReload);
    await b.locator("#connection[data-state='open']").waitFor();
    await waitForConfirmed(b, exchanged);
    await waitForConfirmed(a, exchanged);
    await assertSameTimeline(a, b);
  });

  await coreStep("a message still unsent when the page reloads is sent after it, once", async () => {
    relay.swallowSends = true;
    await send(b, "kept across the reload");
    exchanged.push("kept across the reload");
    await until(() => relay.sends.some((s) => s.text === "kept across the reload"), "bob's send");
    await b.locator("#messages li.message.pending").filter({ hasText: "kept across the reload" }).waitFor();
    await b.reload({ timeout: WAIT_MS });
    relay.swallowSends = false;
    await waitForConfirmed(b, exchanged);
    await waitForConfirmed(a, exchanged);
    await assertSameTimeline(a, b);
    const sent = relay.sends.filter((s) => s.text === "kept across the reload");
    assert(
      sent.length >= 2 && sent.every((s) => s.temp_id === sent[0].temp_id),
      "the resend changed temp_id",
    );
  });

  await coreStep(
    "an ack lost with the connection: the message is resent with its temp_id and posted once",
    async () => {
      relay.dropNextAck = true;
      await send(b, "after the drop");
      exchanged.push("after the drop");
      await until(() => relay.dropped === 1, "the relay to drop the ack");
      await waitForConfirmed(b, exchanged);
      await waitForConfirmed(a, exchanged);
      await b.locator("#connection[data-state='open']").waitFor();
      await assertSameTimeline(a, b);
      const sent = relay.sends.filter((s) => s.text === "after the drop");
      assert(
        sent.length === 2 && sent[0].temp_id === sent[1].temp_id,
        `expected one temp_id sent twice, got ${JSON.stringify(sent)}`,
      );
      const acks = relay.acks.filter((ack) => ack.temp_id === sent[0].temp_id);
      assert(
        acks.length === 2 && acks[1].duplicate === true && acks[1].seq === acks[0].seq,
        `the resend was not acknowledged as a duplicate of the first: ${JSON.stringify(acks)}`,
      );
    },
  );

  await coreStep(
    `${BURST} messages written in one go, one rate-limited, arrive once each and in order`,
    async () => {
      const burst = Array.from({ length: BURST }, (_, i) => `burst ${String(i + 1).padStart(2, "0")}`);
      const limited = burst[BURST / 2];
      relay.refuseText = limited;
      await b.evaluate((texts) => {
        const input = document.getElementById("composer-text");
        const form = document.getElementById("composer");
        for (const text of texts) {
          input.value = text;
          form.requestSubmit();
        }
      }, burst);
      exchanged.push(...burst);
      await b.locator("#messages li.message.pending.waiting").waitFor();
      await b.locator("#messages li.message.pending.waiting").scrollIntoViewIfNeeded();
      await shot(b, "bob-rate-limited");
      await waitForConfirmed(b, exchanged);
      await waitForConfirmed(a, exchanged);
      const list = await assertSameTimeline(a, b);
      assertInOrder(list, burst, "the timeline");
      const sent = relay.sends.filter((s) => s.text === limited);
      assert(
        sent.length === 2 && sent[0].temp_id === sent[1].temp_id,
        `the rate-limited message was not resent once with its temp_id: ${JSON.stringify(sent)}`,
      );
      assert(sent[1].at - relay.refusedAt >= 1000, "the resend did not wait for retry_after");
      await shot(b, "bob-room");
      await shot(a, "alice-room");
    },
  );

  await coreStep(
    "a direct chat: the message reaches the peer's list, and once he answers he shows as online",
    async () => {
      await a.locator("#new-direct-user").fill(bob.id);
      await a.getByRole("button", { name: "Open" }).click();
      await a
        .locator("#room-title")
        .filter({ hasText: `Direct: ${bob.id}` })
        .waitFor();
      await send(a, "psst");
      await waitForConfirmed(a, ["psst"]);
      const key = decodeURIComponent(new URL(a.url()).hash.replace("#/room/", ""));
      const entry = b.locator(`#room-list li[data-room="${key}"]`);
      await entry.locator(".badge").filter({ hasText: "1" }).waitFor();
      // Presence is for peers who accepted the direct room (docs/architecture.md): bob answering accepts it.
      await entry.locator("a").click();
      await waitForConfirmed(b, ["psst"]);
      await send(b, "hi back");
      await waitForConfirmed(a, ["psst", "hi back"]);
      await a.locator("#room-status").filter({ hasText: "Online" }).waitFor();
      await shot(a, "alice-direct");
    },
  );

  await coreStep(
    "on a phone in dark mode, with a pasted token: the room list, then the room with a back link",
    async () => {
      const phone = await browser.newContext({
        viewport: { width: 390, height: 780 },
        isMobile: true,
        colorScheme: "dark",
      });
      const page = await phone.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const minted = await fetch(`${BASE_URL}/v1/dev/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user_id: alice.id, name: alice.name }),
        signal: AbortSignal.timeout(WAIT_MS),
      });
      const { token } = await minted.json();
      await page.goto(BASE_URL, { timeout: WAIT_MS });
      await page.locator("#sign-in-token").fill(token);
      await page.getByRole("button", { name: "Use token" }).click();
      await page.locator("#connection[data-state='open']").waitFor();
      assert(
        (await page.locator("#whoami").textContent()).includes(alice.id),
        "the token's user is not shown",
      );
      await page.locator(`#room-list li[data-room="${roomKey}"]`).waitFor();
      await shot(page, "phone-rooms");
      await page.locator(`#room-list li[data-room="${roomKey}"] a`).click();
      await waitForConfirmed(page, exchanged.slice(-5));
      assert(await page.locator("#back").isVisible(), "no back link on a phone");
      assert(!(await page.locator(".sidebar").isVisible()), "the room list hides the room on a phone");
      await shot(page, "phone-room");
      await page.locator("#back").click();
      await page.locator(".sidebar").waitFor();
      await phone.close();
    },
  );

  await coreStep("bob is removed by alice: he is told, and the room leaves his list", async () => {
    await b.locator(`#room-list li[data-room="${roomKey}"] a`).click();
    await b.locator("#room-view:not([hidden])").waitFor();
    // Subscribed (occupancy comes after the subscription): the removal then reaches the open room's stream.
    await b.locator("#room-status").filter({ hasText: "here now" }).waitFor();
    const { token } = JSON.parse(await a.evaluate(() => sessionStorage.getItem("parley.session")));
    const response = await fetch(
      `${BASE_URL}/v1/rooms/${encodeURIComponent(roomKey)}/members/${encodeURIComponent(bob.id)}`,
      {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(WAIT_MS),
      },
    );
    assert(response.status === 204, `removing bob answered ${response.status}`);
    await b.locator(".notice").filter({ hasText: "You were removed" }).waitFor();
    await b.locator(`#room-list li[data-room="${roomKey}"]`).waitFor({ state: "detached" });
    assert(await b.locator("#room-view").isHidden(), "the room stays open after the removal");
    await shot(b, "bob-removed");
  });

  await coreStep("a token the server refuses leads back to the sign-in page", async () => {
    await b.evaluate(() =>
      sessionStorage.setItem(
        "parley.session",
        JSON.stringify({ token: "not-a-token", user: { id: "mallory", name: "Mallory" } }),
      ),
    );
    await b.reload({ timeout: WAIT_MS });
    await b.locator("#sign-in:not([hidden])").waitFor();
    await b.locator("#sign-in-error").filter({ hasText: "Sign in again" }).waitFor();
  });

  await coreStep("alice's direct chat shows bob offline once his page has signed out", async () => {
    await a.locator("#room-status").filter({ hasText: "Last seen" }).waitFor();
    await shot(a, "alice-direct-offline");
  });
} finally {
  await browser.close();
}

console.log(`screenshots: ${shots.join(" ")}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
