import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

async function freePort(): Promise<number> {
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

async function waitForHealth(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not become healthy:\n${log()}`);
}

/**
 * Starts the real service with `wrangler dev` (local Durable Objects, D1 and Queues, fresh state) for tests
 * that drive it with real client libraries over real sockets.
 */
export default async function setup(project: TestProject) {
  const port = await freePort();
  const persist = mkdtempSync(join(tmpdir(), "parley-e2e-"));
  const wrangler = join(process.cwd(), "node_modules", ".bin", "wrangler");
  execFileSync(
    wrangler,
    ["d1", "execute", "parley", "--local", "--persist-to", persist, "--file", "schema.sql"],
    {
      stdio: "ignore",
    },
  );
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
      // A small outbound backlog bound, so the slow-reader test fills it with a few hundred kilobytes.
      "--var",
      "MAX_SOCKET_BACKLOG_BYTES:262144",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    },
  );
  proc.stdout?.on("data", (d) => (output += d));
  proc.stderr?.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHealth(baseUrl, proc, () => output);
  project.provide("baseUrl", baseUrl);
  return () => {
    proc.kill("SIGTERM");
    rmSync(persist, { recursive: true, force: true });
  };
}
