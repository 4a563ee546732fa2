import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export class UserDO extends DurableObject<Env> {
  async hello(): Promise<string> {
    return "user";
  }
}
