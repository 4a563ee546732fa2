import { rmSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { freePort, freshState, startWranglerDev } from "./wrangler-dev";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

/**
 * Starts the real service with `wrangler dev` (local Durable Objects, D1 and Queues, fresh state) for tests
 * that drive it with real client libraries over real sockets.
 */
export default async function setup(project: TestProject) {
  const persist = freshState();
  // A small outbound backlog bound, so the slow-reader test fills it with a few hundred kilobytes.
  const { proc, baseUrl } = await startWranglerDev(await freePort(), persist, {
    MAX_SOCKET_BACKLOG_BYTES: "262144",
  });
  project.provide("baseUrl", baseUrl);
  return () => {
    proc.kill("SIGTERM");
    rmSync(persist, { recursive: true, force: true });
  };
}
