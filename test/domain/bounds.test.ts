import { describe, expect, it } from "vitest";
import { FRAME_JSON_LIMITS, JSON_LIMITS, jsonBoundsIssue } from "../../src/domain/bounds";
import { draftSchema, firstIssue } from "../../src/domain/validation";
import { deepArrayText, nested } from "../helpers/deep-json";

const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));

describe("jsonBoundsIssue", () => {
  it("accepts scalars and ordinary application JSON", () => {
    for (const value of [null, true, 0, -1.5, "", "text", [], {}, { a: [1, "b", { c: null }] }]) {
      expect(jsonBoundsIssue(value)).toBeNull();
    }
  });

  it("accepts 32 levels of objects or arrays and refuses 33", () => {
    for (const kind of ["object", "array"] as const) {
      expect(jsonBoundsIssue(nested(32, kind))).toBeNull();
      expect(jsonBoundsIssue(nested(33, kind))).toBe("nested deeper than 32 levels");
    }
  });

  it("counts mixed nesting, and a scalar adds no level", () => {
    const mixed = { a: [{ b: [{ c: "leaf" }] }] };
    expect(jsonBoundsIssue(mixed, { ...JSON_LIMITS, maxDepth: 5 })).toBeNull();
    expect(jsonBoundsIssue(mixed, { ...JSON_LIMITS, maxDepth: 4 })).toBe("nested deeper than 4 levels");
  });

  it("walks documents far deeper than the call stack allows without overflowing", () => {
    const deep = JSON.parse(deepArrayText(100_000));
    expect(jsonBoundsIssue(deep)).toBe("nested deeper than 32 levels");
    expect(jsonBoundsIssue(nested(200_000))).toBe("nested deeper than 32 levels");
  });

  it("bounds the keys of one object", () => {
    expect(jsonBoundsIssue(keys(256))).toBeNull();
    expect(jsonBoundsIssue(keys(257))).toBe("an object has more than 256 keys");
    expect(jsonBoundsIssue({ inner: keys(100_000) })).toBe("an object has more than 256 keys");
  });

  it("bounds the items of one array", () => {
    expect(jsonBoundsIssue(new Array(1024).fill(0))).toBeNull();
    expect(jsonBoundsIssue(new Array(1025).fill(0))).toBe("an array has more than 1024 items");
  });

  it("bounds string and key lengths", () => {
    expect(jsonBoundsIssue("x".repeat(16_384))).toBeNull();
    expect(jsonBoundsIssue({ a: ["x".repeat(16_385)] })).toBe("a string is longer than 16384 characters");
    expect(jsonBoundsIssue({ ["k".repeat(256)]: 1 })).toBeNull();
    expect(jsonBoundsIssue({ ["k".repeat(257)]: 1 })).toBe("a key is longer than 256 characters");
  });

  it("bounds the values of the whole document", () => {
    const wide = (rows: number) => Array.from({ length: rows }, () => new Array(999).fill(0));
    // The root, its 10 arrays and their 9,990 scalars: 10,001 values.
    expect(jsonBoundsIssue(wide(10))).toBe("more than 10000 values");
    expect(jsonBoundsIssue(wide(9))).toBeNull();
  });

  it("bounds frames loosely enough for the schema to name a payload's fault, and leaves strings to it", () => {
    const frame = { type: "send", text: "x".repeat(100_000), data: nested(33) };
    expect(jsonBoundsIssue(frame, FRAME_JSON_LIMITS)).toBeNull();
    expect(jsonBoundsIssue({ ...frame, data: nested(64) }, FRAME_JSON_LIMITS)).toBe(
      "nested deeper than 64 levels",
    );
  });
});

describe("draftSchema", () => {
  const draft = (data: unknown) => ({ temp_id: "t-1", text: "hi", data });

  it("accepts data within the bounds and refuses deeper data with the field named", () => {
    expect(draftSchema.safeParse(draft(nested(32))).success).toBe(true);
    const refused = draftSchema.safeParse(draft(nested(33)));
    expect(refused.success).toBe(false);
    if (!refused.success) expect(firstIssue(refused.error)).toBe("data: nested deeper than 32 levels");
  });

  it("refuses the probe's 3,400-level data", () => {
    const refused = draftSchema.safeParse(draft(JSON.parse(deepArrayText(3400))));
    expect(refused.success).toBe(false);
  });
});
