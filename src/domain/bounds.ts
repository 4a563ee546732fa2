/**
 * Bounds on client-supplied JSON, checked before anything is stored. JSON.parse accepts documents far deeper
 * than the rest of the platform can handle: V8's JSON.stringify and structured clone (Durable Object RPC) recurse
 * and overflow the stack near a few thousand levels, long after such a value was acked and stored. The check
 * itself walks the value with an explicit stack, so no input can make it overflow.
 */
export interface JsonLimits {
  /** Objects and arrays nested inside one another; a scalar has depth 0, `{}` and `[1]` have depth 1. */
  maxDepth: number;
  maxKeysPerObject: number;
  maxItemsPerArray: number;
  maxKeyChars: number;
  maxStringChars: number;
  /** Every value of the document, containers and scalars, counted together. */
  maxValues: number;
}

/** The bounds of free-form application JSON: a message's `data`, a room's `metadata`. */
export const JSON_LIMITS: JsonLimits = {
  maxDepth: 32,
  maxKeysPerObject: 256,
  maxItemsPerArray: 1024,
  maxKeyChars: 256,
  maxStringChars: 16_384,
  maxValues: 10_000,
};

/**
 * The bounds of a whole client frame, checked before its schema so that nothing deep or wide reaches it. They are
 * twice the payload's, so a payload just past its own bounds passes here and is refused by the schema, which
 * names the field. Strings are left to the frame's byte limit and to each field's schema (a message's text is
 * as long as the room allows).
 */
export const FRAME_JSON_LIMITS: JsonLimits = {
  maxDepth: 2 * JSON_LIMITS.maxDepth,
  maxKeysPerObject: 2 * JSON_LIMITS.maxKeysPerObject,
  maxItemsPerArray: 2 * JSON_LIMITS.maxItemsPerArray,
  maxKeyChars: JSON_LIMITS.maxKeyChars,
  maxStringChars: Number.POSITIVE_INFINITY,
  maxValues: 2 * JSON_LIMITS.maxValues,
};

/** Why `value` exceeds `limits`, or null when it is within them. */
export function jsonBoundsIssue(value: unknown, limits: JsonLimits = JSON_LIMITS): string | null {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  // Values are counted as they are found, so the stack never holds more than `maxValues` of them.
  let values = 1;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const node = next.value;
    if (typeof node === "string") {
      if (node.length > limits.maxStringChars) {
        return `a string is longer than ${limits.maxStringChars} characters`;
      }
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    const depth = next.depth + 1;
    if (depth > limits.maxDepth) return `nested deeper than ${limits.maxDepth} levels`;
    let children: unknown[];
    if (Array.isArray(node)) {
      if (node.length > limits.maxItemsPerArray) {
        return `an array has more than ${limits.maxItemsPerArray} items`;
      }
      children = node;
    } else {
      const keys = Object.keys(node);
      if (keys.length > limits.maxKeysPerObject) {
        return `an object has more than ${limits.maxKeysPerObject} keys`;
      }
      const long = keys.find((key) => key.length > limits.maxKeyChars);
      if (long !== undefined) return `a key is longer than ${limits.maxKeyChars} characters`;
      children = Object.values(node);
    }
    values += children.length;
    if (values > limits.maxValues) return `more than ${limits.maxValues} values`;
    for (const child of children) pending.push({ value: child, depth });
  }
  return null;
}
