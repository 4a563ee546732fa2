import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import { nativeCodec } from "../../src/dialects/native/codec";
import type { Profile } from "../../src/domain/model";
import { deepArrayText, nested } from "../helpers/deep-json";

const ALICE: Profile = { id: "alice", name: "Alice", avatar: null };

function context(maxFrameBytes = 65_536): SessionContext {
  return {
    sessionId: "sess-1",
    user: ALICE,
    room: "room-1",
    maxFrameBytes,
    now: () => new Date("2026-01-01T00:00:00Z"),
    roomInfo: () => null,
  };
}

const decode = (frame: string | ArrayBuffer, ctx = context()) =>
  nativeCodec.decode(nativeCodec.initialState(ctx), frame, ctx);

const send = (data: unknown) => JSON.stringify({ type: "send", id: "r1", temp_id: "t1", text: "hi", data });

function refusal(frame: string | ArrayBuffer, ctx = context()) {
  const decoded = decode(frame, ctx);
  expect(decoded.commands).toEqual([]);
  expect(decoded.replies).toHaveLength(1);
  return JSON.parse(decoded.replies[0] ?? "null");
}

describe("native decode bounds", () => {
  it("accepts data 32 levels deep and refuses 33 with bad_request, echoing the request id", () => {
    expect(decode(send(nested(32))).commands).toHaveLength(1);
    expect(refusal(send(nested(33)))).toEqual({
      type: "error",
      id: "r1",
      code: "bad_request",
      message: "data: nested deeper than 32 levels",
    });
  });

  it("refuses the probe's 3,400-level data before it can reach the room", () => {
    const frame = `{"type":"send","id":"r1","temp_id":"t1","text":"hi","data":${deepArrayText(3400)}}`;
    expect(refusal(frame)).toMatchObject({
      code: "bad_request",
      message: "frame: nested deeper than 64 levels",
    });
  });

  it("refuses a whole frame of 64 KiB of brackets, open or balanced, without throwing", () => {
    expect(refusal("[".repeat(65_536))).toMatchObject({
      code: "bad_request",
      message: "frame is not UTF-8 JSON",
    });
    expect(refusal(deepArrayText(32_768))).toMatchObject({ message: "frame: nested deeper than 64 levels" });
    expect(refusal("[".repeat(65_537))).toMatchObject({ code: "payload_too_large" });
  });

  it("bounds keys, items and strings inside data", () => {
    const keys = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]));
    expect(refusal(send(keys)).message).toBe("data: an object has more than 256 keys");
    expect(refusal(send(new Array(1025).fill(0))).message).toBe("data: an array has more than 1024 items");
    expect(refusal(send({ s: "x".repeat(16_385) })).message).toBe(
      "data: a string is longer than 16384 characters",
    );
    expect(decode(send({ s: "x".repeat(16_384) })).commands).toHaveLength(1);
  });

  it("bounds the whole frame, junk fields the schema would strip included, before the schema runs", () => {
    const wide = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`k${i}`, i]));
    expect(refusal(JSON.stringify({ type: "typing", typing: true, ...wide })).message).toBe(
      "frame: an object has more than 512 keys",
    );
    const frame = `{"type":"typing","typing":true,"junk":${deepArrayText(1000)}}`;
    expect(refusal(frame).message).toBe("frame: nested deeper than 64 levels");
  });

  it("refuses binary frames that are not UTF-8 instead of storing replacement characters", () => {
    const [before = "", after = ""] = send("hé").split("é");
    const encoder = new TextEncoder();
    const frame = (middle: number[]) =>
      new Uint8Array([...encoder.encode(before), ...middle, ...encoder.encode(after)]).buffer;
    expect(decode(frame([0xc3, 0xa9])).commands).toHaveLength(1);
    expect(refusal(frame([0xff]))).toMatchObject({ code: "bad_request", message: "frame is not UTF-8 JSON" });
    expect(refusal(frame([0xc3])).code).toBe("bad_request");
  });

  it("echoes only a request id the schema would accept", () => {
    const reply = refusal(JSON.stringify({ type: "nope", id: "x".repeat(500) }));
    expect(reply.id).toBeUndefined();
  });
});
