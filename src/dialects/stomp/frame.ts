/**
 * The STOMP 1.0/1.1/1.2 wire grammar: scanning a stream of text into frames, header escaping, serialising.
 * Lengths are UTF-8 bytes, as the specification counts them, although the stream is kept as a JS string.
 */

export type StompVersion = "1.0" | "1.1" | "1.2";

/** Best first: the order the server prefers when a client accepts several. */
export const STOMP_VERSIONS: readonly StompVersion[] = ["1.2", "1.1", "1.0"];

export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  "CONNECT",
  "STOMP",
  "SEND",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "ACK",
  "NACK",
  "BEGIN",
  "COMMIT",
  "ABORT",
  "DISCONNECT",
]);

export const SERVER_COMMANDS: ReadonlySet<string> = new Set(["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"]);

/** Frames whose headers are never escaped, so that 1.0 peers can read them before a version is agreed. */
const UNESCAPED_COMMANDS: ReadonlySet<string> = new Set(["CONNECT", "STOMP", "CONNECTED"]);

/** A frame as it crossed the wire: header names and values are still escaped, in their original order. */
export interface RawFrame {
  command: string;
  headers: [string, string][];
  body: string;
}

/**
 * Complete frames found in the input, and the unfinished tail to prepend to the next chunk. On `error` the
 * stream is broken: the frames before the fault are still returned, in order.
 */
export interface Scan {
  frames: RawFrame[];
  rest: string;
  error: ScanError | null;
}

export interface ScanError {
  kind: "too_large" | "malformed";
  message: string;
}

export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Client text quoted in an error message, cut short so that an ERROR frame stays small. */
export const excerpt = (text: string): string => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

const tooLarge = (maxFrameBytes: number): ScanError => ({
  kind: "too_large",
  message: `frame is larger than ${maxFrameBytes} bytes`,
});

const malformed = (message: string): ScanError => ({ kind: "malformed", message });

/** Splits `input` into frames, skipping the EOL heart-beats between them. */
export function scanFrames(input: string, maxFrameBytes: number, commands = CLIENT_COMMANDS): Scan {
  const frames: RawFrame[] = [];
  let at = 0;
  for (;;) {
    while (input[at] === "\n" || input[at] === "\r") at++;
    if (at === input.length) return { frames, rest: "", error: null };
    const step = readFrame(input, at, maxFrameBytes, commands);
    if (step.kind === "error") return { frames, rest: "", error: step.error };
    if (step.kind === "partial") {
      const rest = input.slice(at);
      if (utf8Length(rest) > maxFrameBytes) return { frames, rest: "", error: tooLarge(maxFrameBytes) };
      return { frames, rest, error: null };
    }
    frames.push(step.frame);
    at = step.next;
  }
}

type Step =
  | { kind: "frame"; frame: RawFrame; next: number }
  | { kind: "partial" }
  | { kind: "error"; error: ScanError };

function readFrame(input: string, start: number, maxFrameBytes: number, commands: ReadonlySet<string>): Step {
  const firstNul = input.indexOf("\0", start);
  const lines: string[] = [];
  let at = start;
  for (;;) {
    const eol = input.indexOf("\n", at);
    if (firstNul !== -1 && (eol === -1 || firstNul < eol)) {
      return { kind: "error", error: malformed("frame ended before its headers did") };
    }
    if (eol === -1) return { kind: "partial" };
    const line = input.slice(at, input[eol - 1] === "\r" && eol > at ? eol - 1 : eol);
    at = eol + 1;
    if (lines.length === 0 && !commands.has(line))
      return { kind: "error", error: malformed(`unknown command ${excerpt(line)}`) };
    if (line === "") break;
    lines.push(line);
  }

  const [command = "", ...headerLines] = lines;
  const headers: [string, string][] = [];
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return { kind: "error", error: malformed("malformed header line") };
    headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }

  const declared = headers.find(([name]) => name === "content-length")?.[1];
  let end: number;
  if (declared === undefined) {
    end = firstNul;
    if (end === -1) return { kind: "partial" };
  } else {
    if (!/^\d{1,15}$/.test(declared))
      return { kind: "error", error: malformed("content-length is not a byte count") };
    const length = Number(declared);
    if (length > maxFrameBytes) return { kind: "error", error: tooLarge(maxFrameBytes) };
    const bodyEnd = skipBytes(input, at, length);
    if (bodyEnd === "split")
      return { kind: "error", error: malformed("content-length ends inside a character") };
    if (bodyEnd === "short" || bodyEnd === input.length) return { kind: "partial" };
    if (input[bodyEnd] !== "\0") return { kind: "error", error: malformed("frame is not terminated by NUL") };
    end = bodyEnd;
  }

  const next = end + 1;
  if (utf8Length(input.slice(start, next)) > maxFrameBytes) {
    return { kind: "error", error: tooLarge(maxFrameBytes) };
  }
  return { kind: "frame", frame: { command, headers, body: input.slice(at, end) }, next };
}

/** The index `bytes` UTF-8 bytes after `from`; "short" when the input ends first, "split" inside a character. */
function skipBytes(input: string, from: number, bytes: number): number | "short" | "split" {
  let at = from;
  let remaining = bytes;
  while (remaining > 0) {
    if (at >= input.length) return "short";
    const unit = input.charCodeAt(at);
    const [size, units] =
      unit < 0x80 ? [1, 1] : unit < 0x800 ? [2, 1] : unit >= 0xd800 && unit <= 0xdbff ? [4, 2] : [3, 1];
    if (size > remaining) return "split";
    remaining -= size;
    at += units;
  }
  return at;
}

type Escaping = "none" | "1.1" | "1.2";

function escapingOf(command: string, version: StompVersion | null): Escaping {
  if (version === null || version === "1.0" || UNESCAPED_COMMANDS.has(command)) return "none";
  return version;
}

const UNESCAPES: Record<Exclude<Escaping, "none">, ReadonlyMap<string, string>> = {
  "1.1": new Map([
    ["n", "\n"],
    ["c", ":"],
    ["\\", "\\"],
  ]),
  "1.2": new Map([
    ["r", "\r"],
    ["n", "\n"],
    ["c", ":"],
    ["\\", "\\"],
  ]),
};

/** Where a version has no escape for an octet, it cannot appear in a header: it becomes a space. */
const ESCAPES: Record<Escaping, ReadonlyMap<string, string>> = {
  none: new Map([
    ["\\", "\\"],
    ["\r", " "],
    ["\n", " "],
    [":", ":"],
  ]),
  "1.1": new Map([
    ["\\", "\\\\"],
    ["\r", " "],
    ["\n", "\\n"],
    [":", "\\c"],
  ]),
  "1.2": new Map([
    ["\\", "\\\\"],
    ["\r", "\\r"],
    ["\n", "\\n"],
    [":", "\\c"],
  ]),
};

function unescapeText(raw: string, table: ReadonlyMap<string, string>): string | null {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const char = raw.charAt(i);
    if (char !== "\\") {
      out += char;
      continue;
    }
    const decoded = table.get(raw.charAt(i + 1));
    if (decoded === undefined) return null;
    out += decoded;
    i++;
  }
  return out;
}

/**
 * The frame's headers, unescaped as `version` requires. A repeated header keeps its first value, as the
 * specification says. An escape the version does not define is a fatal error.
 */
export function readHeaders(
  frame: RawFrame,
  version: StompVersion | null,
): { ok: true; headers: Map<string, string> } | { ok: false; error: string } {
  const escaping = escapingOf(frame.command, version);
  const headers = new Map<string, string>();
  for (const [rawName, rawValue] of frame.headers) {
    const name = escaping === "none" ? rawName : unescapeText(rawName, UNESCAPES[escaping]);
    const value = escaping === "none" ? rawValue : unescapeText(rawValue, UNESCAPES[escaping]);
    if (name === null || value === null)
      return { ok: false, error: `undefined escape sequence in header ${excerpt(rawName)}` };
    if (!headers.has(name)) headers.set(name, value);
  }
  return { ok: true, headers };
}

export interface OutgoingFrame {
  command: string;
  headers: [string, string][];
  body?: string;
}

/** The frame as text, escaped for `version` (null before one is agreed), with `content-length` and NUL. */
export function formatFrame(frame: OutgoingFrame, version: StompVersion | null): string {
  const table = ESCAPES[escapingOf(frame.command, version)];
  const escaped = (text: string) => text.replace(/[\\\r\n:]/g, (char) => table.get(char) ?? char);
  const lines = [
    frame.command,
    ...frame.headers.map(([name, value]) => `${escaped(name)}:${escaped(value)}`),
  ];
  const body = frame.body ?? "";
  if (body !== "") lines.push(`content-length:${utf8Length(body)}`);
  return `${lines.join("\n")}\n\n${body}\0`;
}

/**
 * Decodes a binary WebSocket message as UTF-8 after the `pending` bytes of the previous one, holding back the
 * bytes of a character the next message completes. Null when the bytes are not UTF-8.
 */
export function decodeUtf8(pending: number[], data: ArrayBuffer): { text: string; pending: number[] } | null {
  const bytes = new Uint8Array(pending.length + data.byteLength);
  bytes.set(pending);
  bytes.set(new Uint8Array(data), pending.length);
  let complete = bytes.length;
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    if (size > back) complete = bytes.length - back;
    break;
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(0, complete),
    );
    return { text, pending: [...bytes.subarray(complete)] };
  } catch {
    return null;
  }
}
