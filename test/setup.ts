import { env } from "cloudflare:test";
import { beforeAll } from "vitest";

beforeAll(async () => {
  const statements = env.TEST_SCHEMA.split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => env.DB.prepare(s));
  await env.DB.batch(statements);
});
