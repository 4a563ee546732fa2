import fc from "fast-check";
import { nested } from "./deep-json";

/** Seeded and small, so a failure replays and the whole suite stays fast. */
export const FUZZ = { seed: 16, numRuns: 300 } as const;

/** JSON nested up to 4,000 levels: past the bounds, and past what a recursive walk survives. */
export const deepJson = fc
  .record({
    depth: fc.integer({ min: 0, max: 4000 }),
    kind: fc.constantFrom("object" as const, "array" as const),
    leaf: fc.jsonValue({ maxDepth: 1 }),
  })
  .map(({ depth, kind, leaf }) => nested(depth, kind, leaf));

/** Objects and arrays up to 3,000 wide: past the key and item bounds. */
export const wideJson = fc
  .record({ width: fc.integer({ min: 0, max: 3000 }), asObject: fc.boolean() })
  .map(({ width, asObject }) => {
    const items = Array.from({ length: width }, (_, i) => i);
    return asObject ? Object.fromEntries(items.map((i) => [`k${i}`, i])) : items;
  });

/** Any JSON value: ordinary, deep or wide. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue(), deepJson, wideJson);

/** Text of every kind: printable, any UTF-16 code unit (lone surrogates too), and JSON-looking. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.json(),
  anyJson.map((value) => JSON.stringify(value)),
);

/** Arbitrary bytes, and bytes of text that look like frames. */
export const anyBytes: fc.Arbitrary<ArrayBuffer> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((bytes) => bytes.buffer),
  anyText.map((text) => new TextEncoder().encode(text).buffer as ArrayBuffer),
);

/**
 * An object whose fields are drawn from `fields` with arbitrary JSON values, merged over `base`: frames that
 * name the right fields with wrong, deep or wide values.
 */
export const fieldsOver = (base: Record<string, unknown>, fields: readonly string[]) =>
  fc
    .dictionary(fc.constantFrom(...fields), anyJson, { maxKeys: fields.length })
    .map((over) => ({ ...base, ...over }));

/** Byte sequences UTF-8 forbids: a stray continuation, an invalid lead, an overlong form, a surrogate, a cut. */
const INVALID_UTF8 = [[0x80], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]];

/** The bytes of `before`, an invalid UTF-8 sequence, and `after`: a frame whose text is corrupt inside. */
export const corruptUtf8 = (before: string, after: string): fc.Arbitrary<ArrayBuffer> =>
  fc
    .record({ text: fc.string({ maxLength: 50 }), bad: fc.constantFrom(...INVALID_UTF8) })
    .map(({ text, bad }) => {
      const encoder = new TextEncoder();
      return new Uint8Array([...encoder.encode(before + text), ...bad, ...encoder.encode(after)]).buffer;
    });
