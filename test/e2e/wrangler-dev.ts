import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const wrangler = join(process.cwd(), "node_modules", ".bin", "wrangler");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** A fresh persisted-state directory with the D1 schema applied, as `npm start` applies it. */
export function freshState(): string {
  const persist = mkdtempSync(join(tmpdir(), "parley-e2e-"));
  execFileSync(
    wrangler,
    ["d1", "execute", "parley", "--local", "--persist-to", persist, "--file", "schema.sql"],
    {
      stdio: "ignore",
    },
  );
  return persist;
}

export interface WranglerDev {
  proc: ChildProcess;
  baseUrl: string;
}

/** Starts `wrangler dev` on `port` over `persist`, with extra `vars`, and waits until it answers `/health`. */
export async function startWranglerDev(
  port: number,
  persist: string,
  vars: Record<string, string> = {},
): Promise<WranglerDev> {
  let output = "";
  const proc = spawn(
    wrangler,
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      persist,
      "--inspector-port",
      "0",
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    },
  );
  proc.stdout?.on("data", (d) => (output += d));
  proc.stderr?.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) return { proc, baseUrl };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not become healthy:\n${output}`);
}
