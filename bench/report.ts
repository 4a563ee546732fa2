import type { LatencySummary } from "./measure.ts";
import type { Result } from "./scenarios.ts";

type Column = [header: string, cell: (r: Result) => unknown];

const lat = (
  key: "latency" | "ack" | "per_socket" | "reconnect_and_resubscribe",
  field: keyof LatencySummary,
) => {
  return (r: Result) => (r[key] as LatencySummary | undefined)?.[field] ?? "";
};

function table(rows: Result[], columns: Column[]): string {
  if (rows.length === 0) return "";
  const lines = [
    `| ${columns.map(([h]) => h).join(" | ")} |`,
    `|${columns.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${columns.map(([, cell]) => String(cell(r) ?? "")).join(" | ")} |`),
  ];
  return lines.join("\n");
}

const verdict = (r: Result) => (r.ok ? "ok" : `**FAIL**: ${(r.problems as string[]).join("; ")}`);

const fanOutColumns: Column[] = [
  ["receivers", (r) => r.receivers],
  ["msg/s", (r) => r.rate_msgs_per_s],
  ["offered deliveries/s", (r) => r.offered_deliveries_per_s],
  ["delivered/s", (r) => r.delivered_per_s],
  ["p50 ms", lat("latency", "p50_ms")],
  ["p99 ms", lat("latency", "p99_ms")],
  ["max ms", lat("latency", "max_ms")],
  ["ack p50 ms", lat("ack", "p50_ms")],
  ["ack p99 ms", lat("ack", "p99_ms")],
  ["events/frame", (r) => r.events_per_ws_message],
  ["DO requests / message", (r) => r.do_requests_per_message ?? "n/a"],
  ["DO requests / delivery", (r) => r.do_requests_per_delivery ?? "n/a"],
  ["loss", (r) => r.loss],
  ["server CPU % (proxy + runtime)", (r) => `${r.proxy_cpu_pct ?? "?"} + ${r.runtime_cpu_pct ?? "?"}`],
  ["harness CPU %", (r) => r.harness_cpu_pct],
  ["harness stall ms", (r) => r.harness_max_stall_ms],
  ["other CPU %", (r) => r.other_cpu_pct],
  ["", verdict],
];

/** The published tables, in the order docs/benchmarks.md presents them. */
export function markdown(results: Result[]): string {
  const of = (scenario: string) => results.filter((r) => r.scenario === scenario && !r.skipped);
  const sections: [string, string][] = [
    ["Room-scoped fan-out (one live room, native room sockets)", table(of("room_fanout"), fanOutColumns)],
    [
      "Group room on room sockets (every member on the native room socket)",
      table(of("group_fanout"), fanOutColumns),
    ],
    [
      "User-scoped fan-out (one group room, every member on the native user socket)",
      table(of("user_fanout"), fanOutColumns),
    ],
    [
      "Large group room, few online (the online members on the native user socket, the rest never connected)",
      table(of("crowd_fanout"), [["members", (r) => r.members], ...fanOutColumns]),
    ],
    [
      "Direct rooms in parallel (both members on the user socket; each message reaches 2 sockets)",
      table(of("direct_rooms"), [["rooms", (r) => r.rooms], ...fanOutColumns.slice(1)]),
    ],
    [
      "Connection ramp (connect + subscribe, all at once)",
      table(of("ramp"), [
        ["socket", (r) => r.socket],
        ["sockets", (r) => r.sockets],
        ["all subscribed ms", (r) => r.total_ms],
        ["per socket p50 ms", lat("per_socket", "p50_ms")],
        ["per socket p99 ms", lat("per_socket", "p99_ms")],
      ]),
    ],
    [
      "Resume storm (restart wrangler dev mid-stream, everyone resumes with `since`)",
      table(of("resume_storm"), [
        ["clients", (r) => r.clients],
        ["missed per client", (r) => `${r.missed_per_client_min}–${r.missed_per_client_max}`],
        ["events replayed", (r) => r.events_replayed],
        ["restart ms", (r) => r.restart_ms],
        ["all gaps filled ms", (r) => r.all_gaps_filled_ms],
        ["resubscribe p50 ms", lat("reconnect_and_resubscribe", "p50_ms")],
        ["resubscribe p99 ms", lat("reconnect_and_resubscribe", "p99_ms")],
        ["loss", (r) => r.loss],
        ["duplicates", (r) => r.duplicates],
        ["", verdict],
      ]),
    ],
    [
      "Memory: workerd RSS for idle subscribed room sockets (10 rooms × 100)",
      table(of("memory"), [
        ["idle sockets", (r) => r.idle_sockets],
        [
          "runtime RSS MiB: before → with sockets → closed",
          (r) =>
            `${r.runtime_rss_before_mib} → ${r.runtime_rss_after_mib} → ${r.runtime_rss_after_close_mib}`,
        ],
        [
          "proxy RSS MiB: before → with sockets → closed",
          (r) => `${r.proxy_rss_before_mib} → ${r.proxy_rss_after_mib} → ${r.proxy_rss_after_close_mib}`,
        ],
        ["runtime MiB per 1,000", (r) => r.runtime_mib_per_1000_sockets],
        ["proxy MiB per 1,000", (r) => r.proxy_mib_per_1000_sockets],
        ["KiB per socket (both)", (r) => r.total_kib_per_socket],
      ]),
    ],
  ];
  return sections
    .filter(([, body]) => body !== "")
    .map(([title, body]) => `#### ${title}\n\n${body}`)
    .join("\n\n");
}

/** Before/after rows side by side, with the after ÷ before ratios. */
export function comparison(allBefore: Result[], allAfter: Result[]): string {
  const measured = (r: Result) => r.latency !== undefined;
  const [before, after] = [allBefore.filter(measured), allAfter.filter(measured)];
  const key = (r: Result) => `${r.round}/${r.scenario}/${r.receivers}/${r.rate_msgs_per_s}`;
  const paired = after
    .map((a) => [before.find((b) => key(b) === key(a)), a] as const)
    .filter((pair): pair is readonly [Result, Result] => pair[0] !== undefined);
  const ratio = (b: number, a: number) => (b > 0 ? `${Math.round((a / b) * 100) / 100}×` : "n/a");
  const p99 = (r: Result) => (r.latency as LatencySummary).p99_ms;
  const p50 = (r: Result) => (r.latency as LatencySummary).p50_ms;
  const ackP99 = (r: Result) => (r.ack as LatencySummary).p99_ms;
  const perMessage = (r: Result) => r.do_requests_per_message ?? "n/a";
  const lines = [
    "| round | scenario | receivers | msg/s | p50 ms before → after | p99 ms before → after | p99 after÷before | ack p99 ms before → after | DO requests / message before → after | delivered/s before → after | server CPU % before → after | events/frame before → after | other CPU % before / after | loss before / after |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...paired.map(
      ([b, a]) =>
        `| ${a.round} | ${a.scenario} | ${a.receivers} | ${a.rate_msgs_per_s} | ${p50(b)} → ${p50(a)} | ${p99(b)} → ${p99(a)} | ${ratio(p99(b), p99(a))} | ${ackP99(b)} → ${ackP99(a)} | ${perMessage(b)} → ${perMessage(a)} | ${b.delivered_per_s} → ${a.delivered_per_s} | ${b.server_cpu_pct} → ${a.server_cpu_pct} | ${b.events_per_ws_message} → ${a.events_per_ws_message} | ${b.other_cpu_pct} / ${a.other_cpu_pct} | ${b.loss} / ${a.loss} |`,
    ),
  ];
  const median = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const row = (r: Result) => `${r.scenario}/${r.receivers}/${r.rate_msgs_per_s}`;
  const medians = [...new Set(after.map(row))].map((k) => {
    const b = before.filter((r) => row(r) === k);
    const a = after.filter((r) => row(r) === k);
    const m = (rows: Result[], f: (r: Result) => number) => Math.round(median(rows.map(f)) * 10) / 10;
    const cpu = (r: Result) => r.server_cpu_pct as number;
    const [scenario, receivers, rate] = k.split("/");
    return `| ${scenario} | ${receivers} | ${rate} | ${a.length} | ${m(b, p50)} → ${m(a, p50)} | ${m(b, p99)} → ${m(a, p99)} | ${ratio(m(b, p99), m(a, p99))} | ${m(b, ackP99)} → ${m(a, ackP99)} | ${m(b, cpu)} → ${m(a, cpu)} |`;
  });
  return [
    "Medians over the rounds:",
    "",
    "| scenario | receivers | msg/s | rounds | p50 ms | p99 ms | p99 after÷before | ack p99 ms | server CPU % |",
    "|---|---|---|---|---|---|---|---|---|",
    ...medians,
    "",
    "Every round:",
    "",
    ...lines,
  ].join("\n");
}
