import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Api } from "./clients.ts";
import { sleep, workerdProcesses, workerdServing } from "./measure.ts";

/**
 * Where local Durable Object and D1 state goes unless told otherwise: tmpfs. Every SQLite commit holds the
 * object's outgoing frames (output gate) until it lands, so on a disk that other work is using, their I/O shows up
 * as fan-out latency (p99 more than doubled here): a cost of the shared disk, not of Parley.
 */
export const DEFAULT_STATE_DIR = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

/**
 * Variables the benchmark runs with: one publisher sends far above the default per-user rate limit, and the
 * server counts its Durable Object requests for `GET /v1/dev/stats` (src/dev-stats.ts).
 */
export const BENCH_VARS = { RATE_PER_SECOND: "1000", RATE_BURST: "1000", DEV_STATS: "1" };
const START_TIMEOUT_MS = 90_000;
/** Process groups this harness started and has not stopped yet. */
const started = new Set<number>();
const STOP_TIMEOUT_MS = 10_000;

/** A running Parley: either one this harness started (and may restart) or one it was pointed at. */
export interface Server {
  api: Api;
  /** The public port (wrangler's proxy listens on it). */
  port: string;
  /** wrangler dev's inspector (DevTools protocol), when the harness started the server. */
  inspectorPort: number | null;
  /** The workerd processes serving it, for CPU and memory readings (empty when they cannot be found). */
  workerd(): number[];
  /** Stops and starts the server on the same state; null when the harness did not start it. */
  restart: (() => Promise<number>) | null;
  stop(): Promise<void>;
}

/** A server started elsewhere (e.g. `npm start`): no restart, and workerd found by the port it serves. */
export function attach(baseUrl: string): Server {
  const port = new URL(baseUrl).port || "80";
  return {
    api: new Api(baseUrl),
    port,
    inspectorPort: null,
    workerd: () => workerdServing(port),
    restart: null,
    stop: async () => {},
  };
}

/** What `wrangler dev` needs from a checkout; node_modules is linked, not copied. */
const TREE = ["src", "wrangler.toml", "schema.sql", ".dev.vars", "package.json", "tsconfig.json"];

/**
 * A frozen copy of the code under test: `wrangler dev` watches its sources and reloads (dropping every socket)
 * when one changes, so it runs from a copy that edits made during the run cannot touch.
 */
function snapshot(root: string): string {
  const copy = mkdtempSync(join(tmpdir(), "parley-bench-tree-"));
  for (const entry of TREE) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
  return copy;
}

/**
 * Starts `wrangler dev` on a snapshot of `checkout` with fresh local state (D1 schema applied), pinned to `cpu`
 * with taskset so the server and the harness do not share a core.
 */
export async function start(checkout: string, cpu: string, stateDir: string): Promise<Server> {
  const root = snapshot(checkout);
  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = mkdtempSync(join(stateDir, "parley-bench-"));
  const discard = () => {
    rmSync(persist, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };
  // This Node runs wrangler too: the `wrangler` bin would take whichever `node` comes first on PATH.
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  try {
    execFileSync(
      process.execPath,
      [wrangler, "d1", "execute", "parley", "--local", "--persist-to", persist, "--file", "schema.sql"],
      { cwd: root, stdio: "ignore", env: quietEnv() },
    );
  } catch (error) {
    discard();
    throw error;
  }
  const api = new Api(`http://127.0.0.1:${port}`);
  let proc: ChildProcess | null = null;
  let log = "";

  const launch = async (): Promise<number> => {
    const startedAt = performance.now();
    const vars = Object.entries(BENCH_VARS).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    log = "";
    proc = spawn(
      "taskset",
      [
        "-c",
        cpu,
        process.execPath,
        wrangler,
        "dev",
        "--port",
        String(port),
        "--ip",
        "127.0.0.1",
        "--persist-to",
        persist,
        "--inspector-port",
        String(inspectorPort),
        "--show-interactive-dev-session=false",
        "--log-level",
        "warn",
        ...vars,
      ],
      { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: quietEnv() },
    );
    if (proc.pid) started.add(proc.pid);
    proc.stdout?.on("data", (d) => (log = (log + d).slice(-20_000)));
    proc.stderr?.on("data", (d) => (log = (log + d).slice(-20_000)));
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (performance.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
      if (await api.health()) return performance.now() - startedAt;
      await sleep(200);
    }
    throw new Error(`wrangler dev did not become healthy in ${START_TIMEOUT_MS} ms:\n${log}`);
  };

  const halt = async (): Promise<void> => {
    const running = proc;
    if (!running?.pid) return;
    started.delete(running.pid);
    if (running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    // The whole group this harness started: wrangler and its workerd children, by the group's id.
    process.kill(-running.pid, "SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
    if (!stopped) {
      process.kill(-running.pid, "SIGKILL");
      await exited;
    }
  };

  try {
    await launch();
  } catch (error) {
    await halt();
    discard();
    throw error;
  }
  return {
    api,
    port: String(port),
    inspectorPort,
    workerd: () => (proc?.pid ? workerdProcesses(proc.pid) : []),
    restart: async () => {
      await halt();
      return launch();
    },
    stop: async () => {
      await halt();
      discard();
    },
  };
}

/** Ends every server this harness started and did not stop (a timeout or an interrupt): by group id. */
export function killStarted(): void {
  for (const pid of started) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  started.clear();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function quietEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
}

/** Pins this process (every thread) to `cpu`, so it never competes with the server for a core. */
export function pinSelf(cpu: string): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpu, String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
