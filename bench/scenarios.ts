import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devToken, Receiver, Run, Sender } from "./clients.ts";
import {
  cpuMeter,
  harnessCpu,
  harnessStall,
  Latency,
  type LatencySummary,
  paced,
  rssMiB,
  serverProcesses,
  sleep,
  until,
} from "./measure.ts";
import { Profiler } from "./profile.ts";
import type { Server } from "./server.ts";

/** What every scenario gets: the server, a tag unique to this bench run (user ids, room keys), the mode. */
export interface Bench {
  server: Server;
  tag: string;
  quick: boolean;
  /** Take a CPU profile of the Worker's isolate during each measurement window. */
  profiling?: boolean;
  /** Called with every finished measurement, so progress shows while the run goes on. */
  report(result: Result): void;
}

export type Result = { scenario: string; ok: boolean; problems: string[] } & Record<string, unknown>;

/** Longest wait for the last deliveries after the publisher stopped. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Longest wait for sockets to go quiet after setup (the occupancy announcements of a ramp). */
const SETTLE_TIMEOUT_MS = 60_000;
/** Longest wait for a resume storm to fill every gap. */
const STORM_TIMEOUT_MS = 60_000;
/**
 * After the last delivery, how long a window keeps counting Durable Object requests: the offline-notify job runs
 * from the room's alarm up to a second after a message (OFFLINE_NOTIFY_DELAY_MS), and its calls belong to the
 * window that caused them.
 */
const TRAILING_REQUESTS_MS = 1_500;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function receivers(bench: Bench, name: string, from: number, count: number): Promise<Receiver[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `${bench.tag}-${name}${from + i}`;
      return new Receiver(id, await devToken(id));
    }),
  );
}

async function sender(bench: Bench, name: string): Promise<Sender> {
  const id = `${bench.tag}-${name}`;
  return new Sender(id, await devToken(id));
}

/** Connects and subscribes every receiver at once; the ramp's figures. */
async function connectAll(
  bench: Bench,
  group: Receiver[],
  path: (r: Receiver) => string,
  room: (r: Receiver) => string | null,
): Promise<{ sockets: number; total_ms: number; per_socket: LatencySummary }> {
  const perSocket = new Latency();
  const startedAt = performance.now();
  await Promise.all(
    group.map(async (r) => {
      const t0 = performance.now();
      await r.connect(bench.server.api, path(r));
      await r.subscribe(room(r));
      perSocket.record(performance.now() - t0);
    }),
  );
  return {
    sockets: group.length,
    total_ms: round(performance.now() - startedAt),
    per_socket: perSocket.summary(),
  };
}

/** Waits until no socket of the group has received anything for a while (setup traffic is over). */
async function settle(group: Receiver[], quietMs = 500): Promise<void> {
  const total = () => group.reduce((sum, r) => sum + (r.socket?.messages ?? 0), 0);
  let last = total();
  let quietSince = performance.now();
  await until(() => {
    const now = total();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
    return performance.now() - quietSince >= quietMs;
  }, SETTLE_TIMEOUT_MS);
}

async function closeAll(group: Receiver[]): Promise<void> {
  await Promise.all(group.map((r) => r.close()));
}

interface Window {
  label: Record<string, unknown>;
  group: Receiver[];
  senders: Sender[];
  /** Receivers each message reaches. */
  fanout: number;
  ratePerSecond: number;
  seconds: number;
  publish: (run: Run, index: number, stamp: number) => void;
}

/**
 * One measurement: messages on a drift-corrected schedule, then a bounded wait for every ack and delivery.
 * Loss is expected (acked × fanout) minus delivered, and any loss, gap, duplicate or refused send fails it.
 */
async function measure(bench: Bench, scenario: string, w: Window): Promise<Result> {
  const run = new Run(`${bench.tag}-${Math.random().toString(36).slice(2, 8)}`);
  const batches = () => w.group.reduce((sum, r) => sum + (r.socket?.messages ?? 0), 0);
  const batchedFrames = () => w.group.reduce((sum, r) => sum + (r.socket?.frames ?? 0), 0);
  const errorsBefore = w.group.reduce((sum, r) => sum + r.errors.length + r.gaps + r.duplicates, 0);
  const failuresBefore = w.senders.reduce((sum, s) => sum + s.failures.length, 0);
  const ackedBefore = w.senders.reduce((sum, s) => sum + s.acked, 0);
  const [messagesBefore, framesBefore] = [batches(), batchedFrames()];
  for (const r of w.group) r.run = run;
  for (const s of w.senders) s.acks = new Latency();
  const count = Math.round(w.ratePerSecond * w.seconds);
  const inspector = bench.server.inspectorPort;
  const profiler = bench.profiling && inspector !== null ? await Profiler.attach(inspector) : null;
  await profiler?.start();
  const harness = harnessCpu();
  const stall = harnessStall();
  const cpu = cpuMeter(bench.server.workerd(), bench.server.port, harness);
  const statsBefore = await bench.server.api.stats();
  const startedAt = performance.now();
  const schedule = await paced(w.ratePerSecond, count, (i, stamp) => w.publish(run, i, stamp));
  const sent = count;
  const acked = () => w.senders.reduce((sum, s) => sum + s.acked, 0) - ackedBefore;
  const failed = () => w.senders.reduce((sum, s) => sum + s.failures.length, 0) - failuresBefore;
  const drained = await until(
    () => acked() + failed() >= sent && run.delivered >= acked() * w.fanout,
    DRAIN_TIMEOUT_MS,
    10,
  );
  const harnessPct = harness();
  const harnessStallMs = stall();
  const cpuReading = cpu();
  const requests =
    statsBefore === null
      ? null
      : await sleep(TRAILING_REQUESTS_MS).then(async () =>
          objectRequests(statsBefore, await bench.server.api.stats()),
        );
  const profile = await profiler?.stop();
  profiler?.close();
  const profileFile = join(tmpdir(), `parley-${run.id}.cpuprofile`);
  if (profile) writeFileSync(profileFile, JSON.stringify(profile.profile));
  for (const r of w.group) r.run = null;
  const acks = new Latency();
  for (const s of w.senders) acks.merge(s.acks);
  const expected = acked() * w.fanout;
  const span = (Math.max(run.lastReceiveAt, startedAt) - startedAt) / 1000;
  const integrity =
    w.group.reduce((sum, r) => sum + r.errors.length + r.gaps + r.duplicates, 0) - errorsBefore;
  const problems: string[] = [];
  if (expected - run.delivered !== 0) problems.push(`loss ${expected - run.delivered} of ${expected}`);
  if (failed() > 0) problems.push(`${failed()} sends refused`);
  if (acked() + failed() < sent) problems.push(`${sent - acked() - failed()} sends never answered`);
  if (integrity > 0) problems.push(`${integrity} gaps, duplicates or errors on receivers`);
  const wsMessages = batches() - messagesBefore;
  const result: Result = {
    scenario,
    ...w.label,
    ok: problems.length === 0,
    problems,
    rate_msgs_per_s: w.ratePerSecond,
    seconds: w.seconds,
    sent,
    acked: acked(),
    expected,
    delivered: run.delivered,
    loss: expected - run.delivered,
    drained,
    offered_deliveries_per_s: Math.round(w.ratePerSecond * w.fanout),
    delivered_per_s: span > 0 ? Math.round(run.delivered / span) : 0,
    latency: run.latency.summary(),
    ack: acks.summary(),
    events_per_ws_message: wsMessages > 0 ? round((batchedFrames() - framesBefore) / wsMessages, 2) : 0,
    ...(requests
      ? {
          do_requests: requests.total,
          do_requests_per_message: round(requests.total / Math.max(1, acked()), 2),
          do_requests_per_delivery: round(requests.total / Math.max(1, run.delivered), 3),
          ws_messages_in: requests.wsMessagesIn,
          do_requests_by_target: requests.byTarget,
        }
      : {}),
    max_send_lag_ms: schedule.maxLagMs,
    harness_max_stall_ms: harnessStallMs,
    harness_cpu_pct: harnessPct,
    ...cpuReading,
    ...(profile ? { profile_file: profileFile, hotspots: profile.hotspots } : {}),
  };
  bench.report(result);
  return result;
}

/**
 * Durable Object requests between two readings of the server's counts: RPC calls, `fetch` and alarms (each
 * billed as a request), and incoming WebSocket messages apart (billed at 20 to 1).
 */
function objectRequests(
  before: Record<string, number>,
  after: Record<string, number> | null,
): { total: number; wsMessagesIn: number; byTarget: Record<string, number> } | null {
  if (after === null) return null;
  const byTarget: Record<string, number> = {};
  let total = 0;
  let wsMessagesIn = 0;
  for (const [target, count] of Object.entries(after)) {
    const delta = count - (before[target] ?? 0);
    if (delta === 0) continue;
    byTarget[target] = delta;
    if (target.endsWith(".webSocketMessage")) wsMessagesIn += delta;
    else total += delta;
  }
  return { total, wsMessagesIn, byTarget };
}

// ---- scenarios ----

/** workerd's resident memory before and after 1,000 idle subscribed sockets (10 rooms × 100). */
export async function memory(bench: Bench): Promise<Result[]> {
  const api = bench.server.api;
  const ownerId = `${bench.tag}-mem-owner`;
  const owner = await devToken(ownerId);
  const group = await receivers(bench, "mem", 0, 1000);
  const rooms = await Promise.all(
    Array.from({ length: 10 }, (_, i) => api.createRoom(owner, `${bench.tag}-mem-${i}`, "live", [])),
  );
  // Rooms exist and are loaded before the baseline, so the delta is the sockets' own cost.
  await sleep(2_000);
  const { proxy, runtime } = serverProcesses(bench.server.workerd(), bench.server.port);
  const before = { proxy: rssMiB(proxy), runtime: rssMiB(runtime) };
  for (let i = 0; i < rooms.length; i++) {
    const slice = group.slice(i * 100, (i + 1) * 100);
    await connectAll(
      bench,
      slice,
      () => `/v1/rooms/${rooms[i]}/ws`,
      () => null,
    );
  }
  await settle(group);
  await sleep(2_000);
  const after = { proxy: rssMiB(proxy), runtime: rssMiB(runtime) };
  await closeAll(group);
  await sleep(2_000);
  const closed = { proxy: rssMiB(proxy), runtime: rssMiB(runtime) };
  const found = before.runtime > 0;
  const perThousand = (a: number, b: number) => round(((a - b) * 1000) / group.length);
  const result: Result = {
    scenario: "memory",
    ok: found,
    problems: found ? [] : ["workerd process not found: RSS not measured"],
    idle_sockets: group.length,
    runtime_rss_before_mib: before.runtime,
    runtime_rss_after_mib: after.runtime,
    proxy_rss_before_mib: before.proxy,
    proxy_rss_after_mib: after.proxy,
    runtime_rss_after_close_mib: closed.runtime,
    proxy_rss_after_close_mib: closed.proxy,
    runtime_mib_per_1000_sockets: perThousand(after.runtime, before.runtime),
    proxy_mib_per_1000_sockets: perThousand(after.proxy, before.proxy),
    total_kib_per_socket: round(
      ((after.runtime + after.proxy - before.runtime - before.proxy) * 1024) / group.length,
    ),
  };
  bench.report(result);
  return [result];
}

/**
 * The target row (500 room receivers × 50 msg/s), the user-scoped row (100 × 50) and the direct rooms under the
 * CPU profiler: where the runtime's time goes per delivered message.
 */
export async function profile(bench: Bench): Promise<Result[]> {
  const profiled = { ...bench, profiling: true };
  return [
    ...(await roomFanOut(profiled, [500], [50])),
    ...(await userFanOut(profiled, [100], [50])),
    ...(await directRooms(profiled)),
  ];
}

/** Time to connect and subscribe N room sockets at once, into a fresh room. */
export async function ramp(bench: Bench): Promise<Result[]> {
  const api = bench.server.api;
  const owner = await devToken(`${bench.tag}-ramp-owner`);
  const results: Result[] = [];
  for (const n of bench.quick ? [500] : [500, 1000]) {
    const room = await api.createRoom(owner, `${bench.tag}-ramp-${n}`, "live", []);
    const group = await receivers(bench, `ramp${n}-`, 0, n);
    const figures = await connectAll(
      bench,
      group,
      () => `/v1/rooms/${room}/ws`,
      () => null,
    );
    await settle(group);
    await closeAll(group);
    const result: Result = { scenario: "ramp", ok: true, problems: [], socket: "room", ...figures };
    bench.report(result);
    results.push(result);
  }
  return results;
}

/** One live room, receivers on room sockets in growing steps, one publisher at each rate. */
export async function roomFanOut(
  bench: Bench,
  steps = bench.quick ? [100, 500] : [100, 500, 1000],
  rates = bench.quick ? [10, 50] : [10, 50, 200],
): Promise<Result[]> {
  const api = bench.server.api;
  const publisher = await sender(bench, "room-pub");
  const room = await api.createRoom(publisher.token, `${bench.tag}-fan-room`, "live", []);
  await publisher.connect(api, `/v1/rooms/${room}/ws`);
  const group: Receiver[] = [];
  const results: Result[] = [];
  for (const size of steps) {
    const fresh = await receivers(bench, "fan", group.length, size - group.length);
    await connectAll(
      bench,
      fresh,
      () => `/v1/rooms/${room}/ws`,
      () => null,
    );
    group.push(...fresh);
    await settle(group);
    results.push(...(await atEachRate(bench, "room_fanout", group, publisher, null, rates)));
  }
  await closeAll(group);
  await publisher.close();
  return results;
}

/** One group room whose members are each on their user socket; the publisher on a room socket. */
export async function userFanOut(
  bench: Bench,
  steps = bench.quick ? [100] : [100, 500],
  rates = bench.quick ? [50] : [10, 50],
): Promise<Result[]> {
  const api = bench.server.api;
  const results: Result[] = [];
  for (const size of steps) {
    const publisher = await sender(bench, `user-pub${size}`);
    const group = await receivers(bench, `u${size}-`, 0, size);
    const room = await api.createRoom(
      publisher.token,
      `${bench.tag}-fan-user-${size}`,
      "group",
      group.map((r) => r.userId),
    );
    await publisher.connect(api, `/v1/rooms/${room}/ws`);
    const figures = await connectAll(
      bench,
      group,
      () => "/v1/ws",
      () => room,
    );
    const ramped: Result = { scenario: "ramp", ok: true, problems: [], socket: "user", ...figures };
    bench.report(ramped);
    results.push(ramped);
    await settle(group);
    results.push(...(await atEachRate(bench, "user_fanout", group, publisher, room, rates)));
    await closeAll(group);
    await publisher.close();
  }
  return results;
}

/**
 * One group room whose members are each on the native **room** socket, subscribed; the publisher, its owner, on a
 * room socket too. Every member is online, so nothing is owed to anyone's user object.
 */
export async function groupRoomSockets(
  bench: Bench,
  steps = bench.quick ? [100] : [100, 500],
  rates = bench.quick ? [10] : [10, 50],
): Promise<Result[]> {
  const api = bench.server.api;
  const results: Result[] = [];
  for (const size of steps) {
    const publisher = await sender(bench, `group-pub${size}`);
    const group = await receivers(bench, `g${size}-`, 0, size);
    const room = await api.createRoom(
      publisher.token,
      `${bench.tag}-fan-group-${size}`,
      "group",
      group.map((r) => r.userId),
    );
    await publisher.connect(api, `/v1/rooms/${room}/ws`);
    const figures = await connectAll(
      bench,
      group,
      () => `/v1/rooms/${room}/ws`,
      () => null,
    );
    const ramped: Result = { scenario: "ramp", ok: true, problems: [], socket: "room (group)", ...figures };
    bench.report(ramped);
    results.push(ramped);
    await settle(group);
    results.push(...(await atEachRate(bench, "group_fanout", group, publisher, null, rates)));
    await closeAll(group);
    await publisher.close();
  }
  return results;
}

/**
 * A large group room with few of its members online: `members` in all, `online` of them on their user socket
 * subscribed to it, the rest never connected (no devices registered). What a message costs should follow the
 * online members, not the membership.
 */
export async function crowdRoom(bench: Bench, members = 5000, online = 50): Promise<Result[]> {
  const api = bench.server.api;
  const publisher = await sender(bench, "crowd-pub");
  const group = await receivers(bench, "crowd-on", 0, online);
  const offline = Array.from({ length: members - online }, (_, i) => `${bench.tag}-crowd-off${i}`);
  const room = await api.createRoom(publisher.token, `${bench.tag}-crowd`, "group", [
    ...group.map((r) => r.userId),
    ...offline,
  ]);
  await publisher.connect(api, `/v1/rooms/${room}/ws`);
  await connectAll(
    bench,
    group,
    () => "/v1/ws",
    () => room,
  );
  await settle(group);
  const rows = await atEachRate(bench, "crowd_fanout", group, publisher, room, [10], { members });
  await closeAll(group);
  await publisher.close();
  return rows;
}

/**
 * Issue 11's rows in one sitting: the live room as the reference, a group room on room sockets and on user
 * sockets (100 and 500 members, with their connection ramps), and a 5,000-member room with 50 online.
 */
export async function scale(bench: Bench): Promise<Result[]> {
  return [
    ...(await roomFanOut(bench, [100], [10])),
    ...(await groupRoomSockets(bench, [100, 500], [10, 50])),
    ...(await userFanOut(bench, [100, 500], [10, 50])),
    ...(await crowdRoom(bench)),
  ];
}

/**
 * Many direct rooms in parallel: both members on their user socket, each subscribed; one of them sends through
 * that same socket, round-robin across rooms, so every message goes user socket → UserDO → RoomDO → two UserDOs.
 */
export async function directRooms(bench: Bench): Promise<Result[]> {
  const api = bench.server.api;
  const pairs = bench.quick ? 50 : 200;
  const perRoomRate = 1;
  const writers = await receivers(bench, "dma", 0, pairs);
  const readers = await receivers(bench, "dmb", 0, pairs);
  const rooms = await Promise.all(
    writers.map((w, i) => api.directRoom(w.token, readers[i]?.userId as string)),
  );
  const group = [...writers, ...readers];
  const roomOf = new Map<Receiver, string>();
  for (let i = 0; i < pairs; i++) {
    roomOf.set(writers[i] as Receiver, rooms[i] as string);
    roomOf.set(readers[i] as Receiver, rooms[i] as string);
  }
  await connectAll(
    bench,
    group,
    () => "/v1/ws",
    (r) => roomOf.get(r) ?? null,
  );
  const senders = writers.map((w) => {
    const s = new Sender(w.userId, w.token);
    s.share(w);
    return s;
  });
  await settle(group);
  const result = await measure(bench, "direct_rooms", {
    label: { rooms: pairs, receivers: group.length },
    group,
    senders,
    fanout: 2,
    ratePerSecond: pairs * perRoomRate,
    seconds: bench.quick ? 5 : 8,
    publish: (run, i, stamp) => {
      const s = senders[i % pairs] as Sender;
      s.send(run, i, stamp, rooms[i % pairs] as string);
    },
  });
  await closeAll(group);
  return [result];
}

/**
 * N room sockets follow a live room while a publisher sends; the server is restarted mid-stream, more messages
 * are posted before anyone is back, then every client reconnects at once with `since` = its last seen seq.
 * Measures the time until every client holds every seq up to the head, with no gap and no duplicate.
 */
export async function resumeStorm(bench: Bench): Promise<Result[]> {
  const restart = bench.server.restart;
  if (!restart) {
    const skipped: Result = {
      scenario: "resume_storm",
      ok: true,
      problems: [],
      skipped: "needs a server the harness started (no --url)",
    };
    bench.report(skipped);
    return [skipped];
  }
  const api = bench.server.api;
  const n = bench.quick ? 200 : 500;
  const gapMessages = 300;
  const publisher = await sender(bench, "storm-pub");
  const room = await api.createRoom(publisher.token, `${bench.tag}-storm`, "live", []);
  const group = await receivers(bench, "storm", 0, n);
  await publisher.connect(api, `/v1/rooms/${room}/ws`);
  await connectAll(
    bench,
    group,
    () => `/v1/rooms/${room}/ws`,
    () => null,
  );
  await settle(group);
  const live = new Run("storm-live");
  const streaming = paced(50, 150, (i, stamp) => publisher.send(live, i, stamp, null));
  await sleep(1_500);
  const restartMs = await restart();
  await streaming;
  await Promise.all(group.map((r) => r.close()));
  await publisher.connect(api, `/v1/rooms/${room}/ws`);
  const gapRun = new Run("storm-gap");
  const ackedBefore = publisher.acked;
  await paced(500, gapMessages, (i, stamp) => publisher.send(gapRun, i, stamp, null));
  await until(
    () => publisher.acked - ackedBefore + publisher.failures.length >= gapMessages,
    DRAIN_TIMEOUT_MS,
  );
  const head = await api.head(publisher.token, room);
  const behind = group.map((r) => head - (r.lastSeq ?? 0));
  const startedAt = performance.now();
  const harness = harnessCpu();
  const cpu = cpuMeter(bench.server.workerd(), bench.server.port, harness);
  const reconnect = new Latency();
  await Promise.all(
    group.map(async (r) => {
      const t0 = performance.now();
      await r.connect(api, `/v1/rooms/${room}/ws`);
      await r.subscribe(null);
      reconnect.record(performance.now() - t0);
    }),
  );
  const filled = await until(() => group.every((r) => r.lastSeq === head), STORM_TIMEOUT_MS, 5);
  const stormMs = performance.now() - startedAt;
  const harnessPct = harness();
  const cpuReading = cpu();
  const gaps = group.reduce((sum, r) => sum + r.gaps, 0);
  const duplicates = group.reduce((sum, r) => sum + r.duplicates, 0);
  const short = group.filter((r) => r.lastSeq !== head).length;
  const problems: string[] = [];
  if (!filled || short > 0) problems.push(`${short} clients never reached head ${head}`);
  if (gaps > 0) problems.push(`${gaps} missing events`);
  if (duplicates > 0) problems.push(`${duplicates} duplicate events`);
  if (publisher.failures.length > 0) problems.push(`${publisher.failures.length} sends refused`);
  await closeAll(group);
  await publisher.close();
  const result: Result = {
    scenario: "resume_storm",
    ok: problems.length === 0,
    problems,
    clients: n,
    head,
    missed_per_client_min: Math.min(...behind),
    missed_per_client_max: Math.max(...behind),
    events_replayed: behind.reduce((a, b) => a + b, 0),
    restart_ms: round(restartMs),
    all_gaps_filled_ms: round(stormMs),
    reconnect_and_resubscribe: reconnect.summary(),
    loss: gaps + short,
    duplicates,
    harness_cpu_pct: harnessPct,
    ...cpuReading,
  };
  bench.report(result);
  return [result];
}

/** One publisher's fan-out to `group` measured at each rate in turn, letting the group settle in between. */
async function atEachRate(
  bench: Bench,
  scenario: "room_fanout" | "group_fanout" | "user_fanout" | "crowd_fanout",
  group: Receiver[],
  publisher: Sender,
  room: string | null,
  rates: readonly number[],
  label: Record<string, unknown> = {},
): Promise<Result[]> {
  const results: Result[] = [];
  for (const rate of rates) {
    results.push(
      await measure(bench, scenario, {
        label: { receivers: group.length, ...label },
        group,
        senders: [publisher],
        fanout: group.length,
        ratePerSecond: rate,
        seconds: bench.quick ? 5 : 8,
        publish: (run, i, stamp) => publisher.send(run, i, stamp, room),
      }),
    );
    await settle(group, 300);
  }
  return results;
}
