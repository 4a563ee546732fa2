import { readdirSync, readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import hdr from "hdr-histogram-js";

/** Latencies are recorded in microseconds: sub-millisecond resolution without floating-point buckets. */
export interface LatencySummary {
  count: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

export class Latency {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** Adds another recording's values to this one. */
  merge(other: Latency): void {
    this.histogram.add(other.histogram);
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      count: h.totalCount,
      p50_ms: ms(h.getValueAtPercentile(50)),
      p99_ms: ms(h.getValueAtPercentile(99)),
      max_ms: ms(h.maxValue),
      mean_ms: ms(h.mean),
    };
  }
}

/** This process's CPU over a window, as a share of one core: 100% means the harness itself is the bottleneck. */
export function harnessCpu(): () => number {
  const start = process.cpuUsage();
  const startedAt = performance.now();
  return () => {
    const used = process.cpuUsage(start);
    const wallUs = (performance.now() - startedAt) * 1000;
    return wallUs > 0 ? Math.round(((used.user + used.system) / wallUs) * 1000) / 10 : 0;
  };
}

/**
 * The harness's longest event-loop stall over a window (ms): a stalled loop delays both sends and receive
 * timestamps, so a large figure here means the harness, not the server, made that latency.
 */
export function harnessStall(): () => number {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  return () => {
    delay.disable();
    return Math.round(delay.max / 1e5) / 10;
  };
}

const CLOCK_TICKS_PER_SECOND = 100;

function children(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** `pid` and all its descendants that are still alive (bounded by the process table's size). */
export function processTree(pid: number): number[] {
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0 && seen.size < 10_000) {
    const next = stack.pop() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...children(next));
  }
  return [...seen];
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** The workerd processes under `root`. */
export function workerdProcesses(root: number): number[] {
  return processTree(root).filter((pid) => commandOf(pid) === "workerd");
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/**
 * For a server the harness did not start: the workerd that listens on `port` (wrangler's proxy) and the
 * workerd processes started by the same wrangler, so other servers on the machine are not counted.
 */
export function workerdServing(port: string): number[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => commandOf(pid) === "workerd");
  const proxy = all.find((pid) => cmdline(pid).includes(`entry=127.0.0.1:${port}`));
  if (proxy === undefined) return [];
  const wrangler = parentOf(proxy);
  return all.filter((pid) => parentOf(pid) === wrangler);
}

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Resident memory in MiB, summed over `pids`. */
export function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, "utf8")
        .split("\n")
        .find((l) => l.startsWith("VmRSS:"));
      kib += Number(line?.split(/\s+/)[1] ?? 0);
    } catch {
      // The process ended.
    }
  }
  return Math.round((kib / 1024) * 10) / 10;
}

function machineBusyTicks(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // user, nice, system, (idle, iowait), irq, softirq, steal
  return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (fields[i] ?? 0), 0);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * Waits (bounded) until the rest of the machine is quiet: other work on a 2-core machine takes cores from the
 * server and the harness and shows up as latency. Returns the busy share seen last (% of one core).
 */
export async function waitForQuiet(limitPct: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const start = machineBusyTicks();
    await sleep(2_000);
    const busyPct = (machineBusyTicks() - start) / CLOCK_TICKS_PER_SECOND / 2 / 0.01;
    if (busyPct <= limitPct || performance.now() > deadline) return Math.round(busyPct);
  }
}

export interface CpuReading {
  /** wrangler dev's workerd processes together, then split: the proxy that owns the public port, the runtime. */
  server_cpu_pct: number | null;
  proxy_cpu_pct: number | null;
  runtime_cpu_pct: number | null;
  /** Everything else on the machine (not the server, not this harness): interference shows here. */
  other_cpu_pct: number;
}

/** wrangler dev's workerd processes, split into the proxy that owns the public `port` and the runtime. */
export function serverProcesses(pids: number[], port: string): { proxy: number[]; runtime: number[] } {
  const proxy = pids.filter((pid) => cmdline(pid).includes(`entry=127.0.0.1:${port}`));
  return { proxy, runtime: pids.filter((pid) => !proxy.includes(pid)) };
}

/** CPU over a window, each as a share of one core. `port` tells wrangler's proxy from the runtime. */
export function cpuMeter(pids: number[], port: string, harness: () => number): () => CpuReading {
  const { proxy, runtime } = serverProcesses(pids, port);
  const ticks = (group: number[]) => group.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const start = { proxy: ticks(proxy), runtime: ticks(runtime), machine: machineBusyTicks() };
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const pct = (delta: number) =>
      seconds > 0 ? Math.round((delta / CLOCK_TICKS_PER_SECOND / seconds) * 1000) / 10 : 0;
    const proxyPct = pct(ticks(proxy) - start.proxy);
    const runtimePct = pct(ticks(runtime) - start.runtime);
    const machinePct = pct(machineBusyTicks() - start.machine);
    const found = pids.length > 0;
    return {
      server_cpu_pct: found ? Math.round((proxyPct + runtimePct) * 10) / 10 : null,
      proxy_cpu_pct: found && proxy.length > 0 ? proxyPct : null,
      runtime_cpu_pct: found ? runtimePct : null,
      other_cpu_pct: Math.max(0, Math.round((machinePct - proxyPct - runtimePct - harness()) * 10) / 10),
    };
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `done` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function until(done: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * Calls `send` `count` times at `ratePerSecond` on a drift-corrected schedule: the i-th call is due at
 * start + i / rate, however late the previous one was, so a slow turn is caught up rather than shifting every
 * later send. `send` gets the due time to stamp into the message (so a late harness shows up as latency).
 */
export async function paced(
  ratePerSecond: number,
  count: number,
  send: (index: number, dueAt: number) => void,
): Promise<{ maxLagMs: number; elapsedMs: number }> {
  const interval = 1000 / ratePerSecond;
  const start = performance.now();
  let maxLagMs = 0;
  for (let i = 0; i < count; i++) {
    const dueAt = start + i * interval;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait);
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - dueAt);
    send(i, Math.min(now, dueAt));
  }
  return { maxLagMs: Math.round(maxLagMs * 10) / 10, elapsedMs: performance.now() - start };
}
