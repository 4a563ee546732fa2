import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

/** Debian's Chromium on PATH, or null: the check never downloads a browser, and CI machines may have none. */
function systemChromium(): string | null {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

const chromium = systemChromium();
if (!chromium) {
  console.log("web-client e2e skipped: no `chromium` on PATH (apt-get install -y chromium to run it)");
}

/**
 * The web client's lifecycle in headless Chromium with two users (scripts/check-web.mjs with
 * PARLEY_CHECK=lifecycle) against this run's wrangler dev: badges, the notification feed, edit, reactions,
 * threads, pins, delete and search, through the real UI.
 */
describe.skipIf(!chromium)("web client in Chromium", () => {
  it("edits, deletes, reacts, pins, threads, badges, the feed and search work for two users", async () => {
    const shots = mkdtempSync(join(tmpdir(), "parley-web-e2e-"));
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        ["scripts/check-web.mjs"],
        {
          env: {
            ...process.env,
            PARLEY_URL: inject("baseUrl"),
            PARLEY_CHECK: "lifecycle",
            PARLEY_SHOTS: shots,
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(output, output).toMatch(/\d+ passed, 0 failed/);
    expect(code, output).toBe(0);
  }, 60_000);
});
