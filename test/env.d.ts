import type { Env as ParleyEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends ParleyEnv {
      TEST_SCHEMA: string;
      /** Base URL of the push fake the Worker's own FCM settings point at. */
      LIVE_PUSH_FAKE: string;
      FUZZ_RUNS?: string;
    }
  }
}
