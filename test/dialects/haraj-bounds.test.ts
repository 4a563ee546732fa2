import { describe, expect, it } from "vitest";
import type { SessionContext } from "../../src/dialects/codec";
import { harajCodec } from "../../src/dialects/haraj/codec";
import type { Profile } from "../../src/domain/model";
import { deepArrayText } from "../helpers/deep-json";

const NOW = "2018-02-02T08:30:39.789Z";
const USER_1: Profile = { id: "1", name: "saad", avatar: null };

function context(maxFrameBytes = 65_536): SessionContext {
  return {
    sessionId: "s",
    user: USER_1,
    room: null,
    maxFrameBytes,
    now: () => new Date(NOW),
    roomInfo: () => null,
  };
}

const decode = (frame: string | ArrayBuffer) =>
  harajCodec.decode(harajCodec.initialState(context()), frame, context());

function reply(frame: string | ArrayBuffer): unknown {
  const decoded = decode(frame);
  expect(decoded.commands).toEqual([]);
  expect(decoded.replies).toHaveLength(1);
  return JSON.parse(decoded.replies[0] ?? "null");
}

const BAD_REQUEST = { status: 400, err: "ERR_BAD_REQUEST", ts: NOW };

describe("Haraj decode bounds", () => {
  it("answers a deeply nested field with a 400 packet echoing the request id", () => {
    const frame = `{"send":{"id":"r1","topic_id":"p2p1_2","text":"hi","extra":${deepArrayText(3400)}}}`;
    expect(reply(frame)).toEqual({ id: "r1", ...BAD_REQUEST });
  });

  it("answers 64 KiB of brackets, open or balanced, with a 400 packet", () => {
    expect(reply("[".repeat(65_536))).toEqual(BAD_REQUEST);
    expect(reply(deepArrayText(32_768))).toEqual(BAD_REQUEST);
  });

  it("answers a command body with too many keys with a 400 packet", () => {
    const wide = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i]));
    expect(reply(JSON.stringify({ typing: { id: "r2", topic_id: "p2p1_2", ...wide } }))).toEqual({
      id: "r2",
      ...BAD_REQUEST,
    });
  });

  it("answers binary frames that are not UTF-8 with a 400 packet", () => {
    expect(reply(new Uint8Array([0x7b, 0xff, 0x7d]).buffer)).toEqual(BAD_REQUEST);
  });
});
