import { actionCableCodec } from "./actioncable/codec";
import type { Codec } from "./codec";
import { ddpCodec } from "./ddp/codec";
import { harajCodec } from "./haraj/codec";
import { nativeCodec } from "./native/codec";
import { stompCodec } from "./stomp/codec";
import { swappartCodec } from "./swappart/codec";

// Each codec's state and tag types are its own; the host only stores and hands them back.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry of codecs
export type AnyCodec = Codec<any, any>;

/** Every wire dialect Parley speaks. Routes, subprotocols and auth policies are derived from these entries. */
export const dialects = {
  native: nativeCodec,
  stomp: stompCodec,
  haraj: harajCodec,
  actioncable: actionCableCodec,
  swappart: swappartCodec,
  ddp: ddpCodec,
} satisfies Record<string, AnyCodec>;

export type DialectName = keyof typeof dialects;

export function codecFor(name: DialectName): AnyCodec {
  return dialects[name];
}

export const dialectNames = Object.keys(dialects) as DialectName[];
