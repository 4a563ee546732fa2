/**
 * Durable Object request counts for the load harness (docs/benchmarks.md), kept only when `DEV_STATS` is "1"
 * (`npm run bench` starts `wrangler dev` with it): every call through a typed stub (RPC method or `fetch`), every
 * alarm and every incoming WebSocket message, by target. Under `wrangler dev` the Worker and both object classes
 * share one isolate, so one module-level map sees them all; in production the variable is unset and nothing is
 * counted or wrapped.
 */
const counts = new Map<string, number>();

export function devStatsEnabled(env: { DEV_STATS?: string }): boolean {
  return env.DEV_STATS === "1";
}

export function countRequest(name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

/** The stub, counting each method called on it as one request to `target` (e.g. `UserDO.receive`). */
export function countedStub<T extends object>(target: string, stub: T): T {
  return new Proxy(stub, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof property !== "string" || property === "then" || typeof value !== "function") return value;
      // Reflect.apply, not `value.apply`: on an RPC stub every property, `apply` too, names a remote member.
      return (...args: unknown[]) => {
        countRequest(`${target}.${property}`);
        return Reflect.apply(value, object, args);
      };
    },
  });
}

export function devStats(): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}
