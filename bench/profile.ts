import WebSocket from "ws";

/** One V8 CPU profile node, as the DevTools protocol returns it. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface Hotspot {
  function: string;
  self_pct: number;
}

const CDP_TIMEOUT_MS = 30_000;

/**
 * A CPU profile of the Worker's isolate over a window, through wrangler dev's inspector (DevTools protocol):
 * where the runtime's JavaScript time goes. Time spent in workerd's native code (socket writes) shows up under
 * the JavaScript call that entered it.
 */
export class Profiler {
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
      if (message.id === undefined) return;
      this.pending.get(message.id)?.(message.result);
      this.pending.delete(message.id);
    });
  }

  /** Attaches to the first target wrangler's inspector lists (the Worker's own isolate). */
  static async attach(inspectorPort: number): Promise<Profiler> {
    const targets = (await (
      await fetch(`http://127.0.0.1:${inspectorPort}/json`, { signal: AbortSignal.timeout(5_000) })
    ).json()) as { webSocketDebuggerUrl: string; title?: string }[];
    const target = targets.find((t) => t.webSocketDebuggerUrl);
    if (!target) throw new Error("no inspector target");
    const url = target.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://127.0.0.1:${inspectorPort}`);
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const profiler = new Profiler(ws);
    await profiler.call("Profiler.enable");
    await profiler.call("Profiler.setSamplingInterval", { interval: 200 });
    return profiler;
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), CDP_TIMEOUT_MS);
      this.pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(): Promise<void> {
    await this.call("Profiler.start");
  }

  /** Stops and returns the profile plus its self-time hotspots (share of all samples, idle included). */
  async stop(top = 25): Promise<{ profile: CpuProfile; hotspots: Hotspot[] }> {
    const { profile } = (await this.call("Profiler.stop")) as { profile: CpuProfile };
    const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    const byFunction = new Map<string, number>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const file = url.split("/").pop() ?? "";
      const name = `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + (node.hitCount ?? 0));
    }
    const hotspots = [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, hits]) => ({
        function: fn,
        self_pct: total > 0 ? Math.round((hits / total) * 1000) / 10 : 0,
      }));
    return { profile, hotspots };
  }

  close(): void {
    this.ws.close();
  }
}
