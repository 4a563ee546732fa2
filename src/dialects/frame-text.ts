/**
 * What every JSON dialect does first with a WebSocket message: its size on the wire, its text (binary messages
 * must be strict UTF-8, never stored with U+FFFD in them), and its JSON.
 */

export const frameBytes = (raw: string | ArrayBuffer): number =>
  typeof raw === "string" ? new TextEncoder().encode(raw).byteLength : raw.byteLength;

/** The message as text, or null when a binary message is not UTF-8. */
export function frameText(raw: string | ArrayBuffer): string | null {
  if (typeof raw === "string") return raw;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw);
  } catch {
    return null;
  }
}

/** The message's JSON, or undefined when it is not UTF-8 JSON. */
export function frameJson(raw: string | ArrayBuffer): unknown {
  const text = frameText(raw);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
