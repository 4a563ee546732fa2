import { env } from "cloudflare:test";
import { beforeAll } from "vitest";

/** Applies schema.sql (the same file `npm start` applies) to the test D1 database. */
beforeAll(async () => {
  const statements = env.TEST_SCHEMA.replace(/--.*$/gm, "")
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => env.DB.prepare(s));
  await env.DB.batch(statements);
});
