import type { Codec, DialectName } from "./codec";
import { harajCodec } from "./haraj/codec";
import { nativeCodec } from "./native/codec";
import { stompCodec } from "./stomp/codec";

// Each codec's state and tag types are its own; the host only stores and hands them back.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry of codecs
export type AnyCodec = Codec<any, any>;

const codecs: Partial<Record<DialectName, AnyCodec>> = {
  native: nativeCodec,
  stomp: stompCodec,
  haraj: harajCodec,
};

export function codecFor(name: DialectName): AnyCodec {
  const codec = codecs[name];
  if (!codec) throw new Error(`no codec for dialect ${name}`);
  return codec;
}
