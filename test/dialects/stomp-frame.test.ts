import { describe, expect, it } from "vitest";
import {
  decodeUtf8,
  formatFrame,
  type RawFrame,
  readHeaders,
  SERVER_COMMANDS,
  scanFrames,
  utf8Length,
} from "../../src/dialects/stomp/frame";

const MAX = 1024;
const SEND = "SEND\ndestination:/app/chat\n\nhello\0";

const bytesOf = (text: string): ArrayBuffer => new TextEncoder().encode(text).buffer as ArrayBuffer;

function headersOf(frame: RawFrame | undefined, version: "1.0" | "1.1" | "1.2" | null = "1.2") {
  if (!frame) throw new Error("no frame");
  const read = readHeaders(frame, version);
  if (!read.ok) throw new Error(read.error);
  return read.headers;
}

describe("scanFrames", () => {
  it("reads a frame's command, headers in order, and body", () => {
    const scan = scanFrames('SEND\ndestination:/app/chat\nreceipt:r-1\n\n{"a":1}\0', MAX);
    expect(scan).toEqual({
      frames: [
        {
          command: "SEND",
          headers: [
            ["destination", "/app/chat"],
            ["receipt", "r-1"],
          ],
          body: '{"a":1}',
        },
      ],
      rest: "",
      error: null,
    });
  });

  it("accepts CRLF line endings and keeps colons after the first one in a value", () => {
    const scan = scanFrames("SEND\r\ndestination:/app/chat\r\ntime:12:30\r\n\r\nbody\0", MAX);
    expect(scan.error).toBeNull();
    expect(scan.frames[0]?.headers).toEqual([
      ["destination", "/app/chat"],
      ["time", "12:30"],
    ]);
    expect(scan.frames[0]?.body).toBe("body");
  });

  it("reads a frame with no headers and no body", () => {
    expect(scanFrames("DISCONNECT\n\n\0", MAX).frames).toEqual([
      { command: "DISCONNECT", headers: [], body: "" },
    ]);
  });

  it("reads several frames batched in one chunk, with heart-beats before, between and after them", () => {
    const scan = scanFrames(`\n\r\n${SEND}\n${SEND}\r\n\n${SEND}\n`, MAX);
    expect(scan.error).toBeNull();
    expect(scan.rest).toBe("");
    expect(scan.frames).toHaveLength(3);
    expect(scan.frames.every((f) => f.body === "hello")).toBe(true);
  });

  it("treats a chunk of heart-beats alone as no frames", () => {
    expect(scanFrames("\n", MAX)).toEqual({ frames: [], rest: "", error: null });
    expect(scanFrames("\r\n\n", MAX)).toEqual({ frames: [], rest: "", error: null });
  });

  it("returns an unfinished frame as rest, whatever the split point, and reads it once completed", () => {
    const stream = `${SEND}SUBSCRIBE\nid:sub-0\ndestination:/topic/chat/r\ncontent-length:3\n\na\0b\0`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = scanFrames(stream.slice(0, cut), MAX);
      expect(first.error).toBeNull();
      const second = scanFrames(first.rest + stream.slice(cut), MAX);
      expect(second.error).toBeNull();
      expect(second.rest).toBe("");
      const frames = [...first.frames, ...second.frames];
      expect(frames.map((f) => f.command)).toEqual(["SEND", "SUBSCRIBE"]);
      expect(frames[1]?.body).toBe("a\0b");
    }
  });

  it("reads a body of content-length bytes, NULs included", () => {
    const scan = scanFrames("SEND\ncontent-length:5\n\na\0b\0c\0", MAX);
    expect(scan.error).toBeNull();
    expect(scan.frames[0]?.body).toBe("a\0b\0c");
  });

  it("counts content-length in UTF-8 bytes, not characters", () => {
    const body = "héllo 👋";
    const scan = scanFrames(`SEND\ncontent-length:${utf8Length(body)}\n\n${body}\0`, MAX);
    expect(scan.error).toBeNull();
    expect(scan.frames[0]?.body).toBe(body);
  });

  it("refuses a content-length body that is not followed by NUL", () => {
    expect(scanFrames("SEND\ncontent-length:2\n\nabc\0", MAX).error).toEqual({
      kind: "malformed",
      message: "frame is not terminated by NUL",
    });
  });

  it("refuses a content-length that ends inside a character", () => {
    expect(scanFrames("SEND\ncontent-length:1\n\né\0", MAX).error?.message).toBe(
      "content-length ends inside a character",
    );
  });

  it("refuses a content-length that is not a byte count", () => {
    for (const value of ["-1", "abc", "1.5", "", " 3"]) {
      expect(scanFrames(`SEND\ncontent-length:${value}\n\nabc\0`, MAX).error?.message).toBe(
        "content-length is not a byte count",
      );
    }
  });

  it("waits for the NUL of a frame without content-length", () => {
    expect(scanFrames("SEND\ndestination:/app/chat\n\nno terminator yet", MAX)).toEqual({
      frames: [],
      rest: "SEND\ndestination:/app/chat\n\nno terminator yet",
      error: null,
    });
  });

  it("refuses an unknown command as soon as its line is complete", () => {
    expect(scanFrames("PUBLISH\n", MAX).error).toEqual({
      kind: "malformed",
      message: "unknown command PUBLISH",
    });
    expect(scanFrames("send\n\n\0", MAX).error?.message).toBe("unknown command send");
    expect(scanFrames("MESSAGE\n\n\0", MAX).error?.message).toBe("unknown command MESSAGE");
  });

  it("reads server frames when told to", () => {
    expect(scanFrames("MESSAGE\n\n\0", MAX, SERVER_COMMANDS).frames[0]?.command).toBe("MESSAGE");
  });

  it("refuses a frame that ends before its blank line", () => {
    expect(scanFrames("DISCONNECT\0", MAX).error?.message).toBe("frame ended before its headers did");
    expect(scanFrames("SEND\ndestination:/app/chat\0", MAX).error?.message).toBe(
      "frame ended before its headers did",
    );
  });

  it("refuses a header line without a name and colon", () => {
    expect(scanFrames("SEND\nno-colon\n\n\0", MAX).error?.message).toBe("malformed header line");
    expect(scanFrames("SEND\n:value\n\n\0", MAX).error?.message).toBe("malformed header line");
  });

  it("refuses a complete frame larger than the limit", () => {
    const body = "x".repeat(MAX);
    expect(scanFrames(`SEND\n\n${body}\0`, MAX).error).toEqual({
      kind: "too_large",
      message: `frame is larger than ${MAX} bytes`,
    });
  });

  it("refuses an unfinished frame once it outgrows the limit, without waiting for its end", () => {
    expect(scanFrames(`SEND\n\n${"x".repeat(MAX - 6)}`, MAX).error).toBeNull();
    expect(scanFrames(`SEND\n\n${"x".repeat(MAX)}`, MAX).error?.kind).toBe("too_large");
    expect(scanFrames(`SEND\n${"h".repeat(MAX)}`, MAX).error?.kind).toBe("too_large");
  });

  it("refuses a declared content-length larger than the limit before the body arrives", () => {
    expect(scanFrames(`SEND\ncontent-length:${MAX + 1}\n\n`, MAX).error?.kind).toBe("too_large");
  });

  it("counts the limit in bytes", () => {
    const body = "é".repeat(MAX / 2);
    expect(scanFrames(`SEND\n\n${body}\0`, MAX).error?.kind).toBe("too_large");
  });

  it("returns the frames before a fault", () => {
    const scan = scanFrames(`${SEND}BOGUS\n\n\0${SEND}`, MAX);
    expect(scan.frames).toHaveLength(1);
    expect(scan.error?.message).toBe("unknown command BOGUS");
  });
});

describe("readHeaders", () => {
  const frame = (command: string, headers: [string, string][]): RawFrame => ({ command, headers, body: "" });

  it("unescapes \\r \\n \\c \\\\ in names and values in 1.2", () => {
    const headers = headersOf(frame("SEND", [["a\\cb", "x\\r\\ny\\cz\\\\w"]]), "1.2");
    expect([...headers]).toEqual([["a:b", "x\r\ny:z\\w"]]);
  });

  it("unescapes \\n \\c \\\\ in 1.1 and refuses \\r there", () => {
    expect(headersOf(frame("SEND", [["k", "a\\nb\\cc\\\\d"]]), "1.1").get("k")).toBe("a\nb:c\\d");
    expect(readHeaders(frame("SEND", [["k", "a\\rb"]]), "1.1")).toEqual({
      ok: false,
      error: "undefined escape sequence in header k",
    });
  });

  it("refuses an undefined escape sequence and a trailing backslash", () => {
    for (const value of ["tab\\t", "end\\", "\\x41"]) {
      expect(readHeaders(frame("SEND", [["k", value]]), "1.2").ok).toBe(false);
    }
    expect(readHeaders(frame("SEND", [["bad\\q", "v"]]), "1.2").ok).toBe(false);
  });

  it("leaves CONNECT and STOMP headers as they are, whatever the version", () => {
    expect(headersOf(frame("CONNECT", [["passcode", "a\\tb:c"]]), "1.2").get("passcode")).toBe("a\\tb:c");
    expect(headersOf(frame("STOMP", [["token", "x\\y"]]), "1.2").get("token")).toBe("x\\y");
  });

  it("leaves headers as they are in 1.0 and before a version is agreed", () => {
    expect(headersOf(frame("SEND", [["k", "a\\tb"]]), "1.0").get("k")).toBe("a\\tb");
    expect(headersOf(frame("SEND", [["k", "a\\tb"]]), null).get("k")).toBe("a\\tb");
  });

  it("keeps the first value of a repeated header", () => {
    const headers = headersOf(
      frame("SEND", [
        ["receipt", "first"],
        ["receipt", "second"],
      ]),
    );
    expect(headers.get("receipt")).toBe("first");
  });

  it("treats prototype names as ordinary headers", () => {
    expect(headersOf(frame("SEND", [["__proto__", "x"]])).get("__proto__")).toBe("x");
  });
});

describe("formatFrame", () => {
  it("writes command, headers, content-length in bytes, blank line, body and NUL", () => {
    expect(
      formatFrame({ command: "MESSAGE", headers: [["subscription", "sub-0"]], body: "héllo" }, "1.2"),
    ).toBe("MESSAGE\nsubscription:sub-0\ncontent-length:6\n\nhéllo\0");
  });

  it("writes no content-length for an empty body", () => {
    expect(formatFrame({ command: "RECEIPT", headers: [["receipt-id", "r-1"]] }, "1.2")).toBe(
      "RECEIPT\nreceipt-id:r-1\n\n\0",
    );
  });

  it("escapes headers as 1.2 defines", () => {
    expect(formatFrame({ command: "MESSAGE", headers: [["destination", "/t/a:b\\c\r\nd"]] }, "1.2")).toBe(
      "MESSAGE\ndestination:/t/a\\cb\\\\c\\r\\nd\n\n\0",
    );
  });

  it("escapes headers as 1.1 defines, which has no escape for CR", () => {
    expect(formatFrame({ command: "ERROR", headers: [["message", "a:b\r\nc"]] }, "1.1")).toBe(
      "ERROR\nmessage:a\\cb \\nc\n\n\0",
    );
  });

  it("never escapes CONNECTED, and keeps unescaped headers on one line", () => {
    expect(formatFrame({ command: "CONNECTED", headers: [["server", "a:b\\c"]] }, "1.2")).toBe(
      "CONNECTED\nserver:a:b\\c\n\n\0",
    );
    expect(formatFrame({ command: "ERROR", headers: [["message", "line\none:two\r"]] }, null)).toBe(
      "ERROR\nmessage:line one:two \n\n\0",
    );
  });

  it("round-trips through the scanner and readHeaders, NULs in the body included", () => {
    const wire = formatFrame(
      { command: "MESSAGE", headers: [["destination", "/topic/chat/a:b\\c\nd"]], body: "x\0y" },
      "1.2",
    );
    const scan = scanFrames(wire, MAX, SERVER_COMMANDS);
    expect(scan.error).toBeNull();
    expect(scan.frames[0]?.body).toBe("x\0y");
    expect(headersOf(scan.frames[0]).get("destination")).toBe("/topic/chat/a:b\\c\nd");
  });
});

describe("decodeUtf8", () => {
  it("decodes a binary message", () => {
    expect(decodeUtf8([], bytesOf(SEND))).toEqual({ text: SEND, pending: [] });
  });

  it("holds back a character split across binary messages and completes it with the next", () => {
    const bytes = new Uint8Array(bytesOf("a👋é"));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const first = decodeUtf8([], bytes.slice(0, cut).buffer as ArrayBuffer);
      if (!first) throw new Error("first half refused");
      const second = decodeUtf8(first.pending, bytes.slice(cut).buffer as ArrayBuffer);
      expect(first.text + second?.text).toBe("a👋é");
      expect(second?.pending).toEqual([]);
    }
  });

  it("refuses bytes that are not UTF-8", () => {
    expect(decodeUtf8([], new Uint8Array([0x61, 0xff, 0x62]).buffer as ArrayBuffer)).toBeNull();
    expect(decodeUtf8([0xc3], new Uint8Array([0x41]).buffer as ArrayBuffer)).toBeNull();
  });
});

describe("utf8Length", () => {
  it("counts bytes of 1 to 4 byte characters", () => {
    expect(utf8Length("a")).toBe(1);
    expect(utf8Length("é")).toBe(2);
    expect(utf8Length("€")).toBe(3);
    expect(utf8Length("👋")).toBe(4);
    expect(utf8Length("a€👋")).toBe(new TextEncoder().encode("a€👋").length);
  });
});
