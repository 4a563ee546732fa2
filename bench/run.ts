/**
 * Parley's load harness. `npm run bench` starts `wrangler dev` itself (fresh state, benchmark rate limits,
 * pinned to one core) and runs every scenario from the other core; `--url` measures a server already running.
 * See docs/benchmarks.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { waitForQuiet } from "./measure.ts";
import { comparison, markdown } from "./report.ts";
import {
  type Bench,
  crowdRoom,
  directRooms,
  groupRoomSockets,
  memory,
  profile,
  type Result,
  ramp,
  resumeStorm,
  roomFanOut,
  scale,
  userFanOut,
} from "./scenarios.ts";
import { attach, BENCH_VARS, DEFAULT_STATE_DIR, killStarted, pinSelf, type Server, start } from "./server.ts";

/**
 * Every scenario, in the order a full run takes them; `profile` and `scale` (issue 11's rows, which repeat
 * parts of the others) run only when named in --only.
 */
const SCENARIOS = {
  memory,
  ramp,
  room: roomFanOut,
  group: groupRoomSockets,
  user: userFanOut,
  crowd: crowdRoom,
  direct: directRooms,
  storm: resumeStorm,
  profile,
  scale,
} satisfies Record<string, (bench: Bench) => Promise<Result[]>>;
type ScenarioName = keyof typeof SCENARIOS;

/** The whole run is bounded: a wedged server or harness ends it with a failure instead of hanging. */
const RUN_TIMEOUT_MS = 20 * 60_000;
/** Before starting, wait up to this long for other work on the machine to fall below QUIET_PCT of one core. */
const QUIET_WAIT_MS = 120_000;
const QUIET_PCT = 25;

const USAGE = `npm run bench -- [options]
  --quick              fewer sizes and shorter windows (about 2 minutes)
  --only LIST          comma-separated scenarios: ${Object.keys(SCENARIOS).join(", ")}
  --url URL            measure a server already running on 127.0.0.1 (e.g. npm start); no resume storm
  --compare DIR[,DIR2] fan-out before/after: DIR is another checkout of Parley (with node_modules), compared
                       with this tree or with DIR2; with --only, those scenarios on each side
  --rounds N           alternating before/after rounds for --compare (default 2)
  --server-cpu N       core for wrangler dev (default 0)
  --harness-cpu N      core for this harness (default 1)
  --state-dir DIR      where wrangler dev keeps its fresh local state (default ${DEFAULT_STATE_DIR})
  --out FILE           where the JSON goes (default bench/results/<time>-<mode>.json)`;

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

function machine() {
  const version = (path: string) =>
    (
      JSON.parse(readFileSync(join(root, "node_modules", path, "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
  return {
    // All cores, not availableParallelism(): this process is pinned to one by now.
    nproc: cpus().length,
    cpu_model: cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    wrangler: version("wrangler"),
    // The workerd that wrangler runs is its own nested copy.
    workerd: version("wrangler/node_modules/workerd"),
  };
}

function progress(result: Result): void {
  const { scenario, ok, problems, ...rest } = result;
  const line = JSON.stringify(rest);
  if (ok) console.log(`  ${scenario}: ${line}`);
  else console.error(`  ${scenario}: FAILED (${problems.join("; ")}) ${line}`);
}

async function runScenarios(server: Server, names: ScenarioName[], quick: boolean, tag: string) {
  return runEach({ server, tag, quick, report: progress }, names);
}

async function runEach(bench: Bench, names: ScenarioName[]): Promise<Result[]> {
  const results: Result[] = [];
  for (const name of names) {
    console.log(`· ${name}`);
    results.push(...(await SCENARIOS[name](bench)));
  }
  return results;
}

/**
 * The fan-out rows that show a hot-path change, against two trees in one sitting; rounds alternate the trees
 * (before, after, before, after, ...) so drift in the machine's load falls on both sides alike.
 */
async function compare(
  trees: string,
  only: ScenarioName[] | null,
  quick: boolean,
  rounds: number,
  serverCpu: string,
  stateDir: string,
  tag: string,
) {
  const [beforeTree = root, afterTree = root] = trees.split(",").map((dir) => resolve(dir));
  const before: Result[] = [];
  const after: Result[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [side, tree, into] of [
      ["before", beforeTree, before],
      ["after", afterTree, after],
    ] as const) {
      const busy = await waitForQuiet(QUIET_PCT, QUIET_WAIT_MS);
      console.log(`· round ${round}, ${side}: ${tree} (machine busy before: ${busy}% of a core)`);
      const server = await start(tree, serverCpu, stateDir);
      try {
        const bench: Bench = { server, tag: `${tag}${side[0]}${round}`, quick, report: progress };
        const rows = only
          ? await runEach(bench, only)
          : [
              ...(await roomFanOut(bench, [500], quick ? [50] : [50, 200])),
              ...(await userFanOut(bench, [100], [50])),
            ];
        into.push(...rows.map((r) => ({ ...r, round })));
      } finally {
        await server.stop();
      }
    }
  }
  return { before, after };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      url: { type: "string" },
      compare: { type: "string" },
      rounds: { type: "string", default: "2" },
      "server-cpu": { type: "string", default: "0" },
      "harness-cpu": { type: "string", default: "1" },
      "state-dir": { type: "string", default: DEFAULT_STATE_DIR },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const names = (values.only?.split(",") ??
    Object.keys(SCENARIOS).filter((n) => n !== "profile" && n !== "scale")) as ScenarioName[];
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) {
    console.error(`unknown scenario: ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const pinned = pinSelf(values["harness-cpu"]);
  const quick = values.quick;
  const mode = values.compare
    ? "compare"
    : values.only
      ? `${quick ? "quick-" : ""}only-${names.join("-")}`
      : quick
        ? "quick"
        : "full";
  const tag = `b${Date.now().toString(36)}`;
  const startedAt = new Date();
  const busyBefore = await waitForQuiet(QUIET_PCT, QUIET_WAIT_MS);
  if (busyBefore > QUIET_PCT)
    console.error(
      `warning: the machine is busy (${busyBefore}% of a core) before the run: figures will suffer`,
    );
  console.log(
    `Parley bench (${mode}); harness pinned to core ${pinned ? values["harness-cpu"] : "(taskset failed: not pinned)"}`,
  );

  let output: Record<string, unknown>;
  let results: Result[];
  let tables: string;
  if (values.compare) {
    const rounds = Math.max(1, Math.min(5, Number(values.rounds) || 1));
    const { before, after } = await compare(
      values.compare,
      values.only ? names : null,
      quick,
      rounds,
      values["server-cpu"],
      values["state-dir"],
      tag,
    );
    results = [...before, ...after];
    tables = `#### Before → after\n\n${comparison(before, after)}\n\n#### Before\n\n${markdown(before)}\n\n#### After\n\n${markdown(after)}`;
    output = { before, after };
  } else {
    const server = values.url
      ? attach(values.url)
      : await start(root, values["server-cpu"], values["state-dir"]);
    try {
      results = await runScenarios(server, names, quick, tag);
    } finally {
      await server.stop();
    }
    tables = markdown(results);
    output = { results };
  }

  const file =
    values.out ??
    join(root, "bench", "results", `${startedAt.toISOString().replace(/[:.]/g, "-")}-${mode}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const record = {
    started_at: startedAt.toISOString(),
    duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
    mode,
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    server:
      values.url ??
      `wrangler dev (fresh state in ${values["state-dir"]}) pinned to core ${values["server-cpu"]}`,
    server_vars: values.url ? "as started" : BENCH_VARS,
    harness_core: pinned ? values["harness-cpu"] : null,
    machine_busy_before_pct: busyBefore,
    machine: machine(),
    ...output,
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\n${tables}\n\nraw results: ${file} (${record.duration_s} s)`);

  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    console.error(`\nFAILED: ${failed.length} measurement(s) lost or refused messages:`);
    for (const r of failed) console.error(`  ${r.scenario} ${JSON.stringify(r.problems)}`);
    return 1;
  }
  return 0;
}

const timeout = setTimeout(() => {
  console.error(`bench did not finish within ${RUN_TIMEOUT_MS / 60_000} minutes`);
  killStarted();
  process.exit(3);
}, RUN_TIMEOUT_MS);
timeout.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killStarted();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("bench failed:", error);
    process.exit(1);
  },
);
