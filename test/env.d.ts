import type { Env as ParleyEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends ParleyEnv {
      TEST_SCHEMA: string;
    }
  }
}
