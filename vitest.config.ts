import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { outboundForTests } from "./test/push/fake-push-service";

/**
 * The Worker's own FCM settings in tests point at the push fake, so the whole offline path (UserDO decision,
 * queue, consumer) is exercised end to end. The service-account key is made per run and never stored.
 */
const LIVE_PUSH_FAKE = "https://live.push.test";
const testServiceAccount = JSON.stringify({
  type: "service_account",
  project_id: "parley-test",
  private_key_id: "test-run",
  private_key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }),
  client_email: "parley-test@parley-test.iam.gserviceaccount.com",
  token_uri: `${LIVE_PUSH_FAKE}/token`,
});

export default defineConfig({
  test: {
    projects: [
      {
        // Inside workerd, with real Durable Object, D1 and Queue bindings.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_SCHEMA: readFileSync("./schema.sql", "utf8"),
                FCM_BASE_URL: LIVE_PUSH_FAKE,
                FCM_PROJECT_ID: "parley-test",
                FCM_SERVICE_ACCOUNT: testServiceAccount,
                LIVE_PUSH_FAKE,
                // A small hot window, so tests reach resumes and history below it with a few dozen events.
                HOT_EVENTS: "40",
                // `npm run fuzz` raises it; the suite runs a seeded few hundred frames per property.
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? "300",
                // Small caps, so the abuse tests reach them with a handful of sockets and members.
                MAX_SOCKETS_PER_USER: "12",
                MAX_ROOM_MEMBERS: "40",
              },
              // Answers `*.push.test` with the fake FCM, token endpoint and webhook receivers; other hosts pass through.
              outboundService: outboundForTests,
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**"],
          setupFiles: ["./test/setup.ts"],
          testTimeout: 20_000,
        },
      },
      {
        // Real client libraries over real sockets against `wrangler dev`.
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["./test/e2e/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
