/** `depth` objects (or arrays) nested in one another around `leaf`, built without recursion. */
export function nested(depth: number, kind: "object" | "array" = "object", leaf: unknown = 1): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = kind === "object" ? { a: value } : [value];
  return value;
}

/** JSON text of `depth` nested arrays, far deeper than a recursive stringify could write. */
export const deepArrayText = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;
