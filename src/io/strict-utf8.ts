import { isUtf8 } from "node:buffer";
import { InputError, type InputLocation } from "../errors";

/**
 * The index of the first byte of `bytes[start, end)` that is not part of a well-formed UTF-8
 * sequence, or -1 when the range is valid UTF-8. Node's decoders replace such bytes with U+FFFD
 * without a word; a corpus with them would be translated (and billed) with the replacement
 * characters in it, so readers check first (natively, with `isUtf8`) and only scan on a failure.
 */
export function firstInvalidUtf8Byte(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (isUtf8(bytes.subarray(start, end))) return -1;
  let position = start;
  while (position < end) {
    const byte = bytes[position]!;
    if (byte < 0x80) {
      position += 1;
      continue;
    }
    // Lead byte: the sequence length and the range its first continuation byte must lie in
    // (which rules out overlong forms, surrogates and code points above U+10FFFF).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) length = 2;
    else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      if (byte === 0xe0) low = 0xa0;
      if (byte === 0xed) high = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      if (byte === 0xf0) low = 0x90;
      if (byte === 0xf4) high = 0x8f;
    } else return position;
    if (position + length > end) return position;
    const second = bytes[position + 1]!;
    if (second < low || second > high) return position;
    for (let index = 2; index < length; index++) {
      const next = bytes[position + index]!;
      if (next < 0x80 || next > 0xbf) return position;
    }
    position += length;
  }
  return -1;
}

// Two noncharacters: valid in JavaScript strings and JSON, and never in real text. They mark the
// invalid bytes so that the field holding them can be found after a lenient parse.
const MARK = "\uffff\ufffe";

/**
 * The dotted path of the JSON string that holds the byte at `offset` of the JSON text
 * `bytes[start, end)` (`output`, `messages.1.content`), or undefined when the text is no JSON.
 */
export function jsonFieldAtByte(bytes: Uint8Array, start: number, end: number, offset: number): string | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString("utf8", start, offset) + MARK + buffer.toString("utf8", offset + 1, end);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const find = (node: unknown, path: string[]): string[] | undefined => {
    if (typeof node === "string") return node.includes(MARK) ? path : undefined;
    if (node === null || typeof node !== "object") return undefined;
    for (const [key, child] of Object.entries(node)) {
      const found = find(child, [...path, key]);
      if (found) return found;
    }
    return undefined;
  };
  const path = find(value, []);
  return path && path.length > 0 ? path.join(".") : undefined;
}

/**
 * Decodes `bytes[start, end)`, one line or one JSON element, as UTF-8; invalid UTF-8 is an
 * InputError naming the file, the line or item, the JSON field (when the text is JSON) and the
 * byte offset, never a silent U+FFFD.
 */
export function decodeUtf8Strict(bytes: Uint8Array, start: number, end: number, location: InputLocation, unit?: string): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const invalid = firstInvalidUtf8Byte(bytes, start, end);
  if (invalid === -1) return buffer.toString("utf8", start, end);
  const field = jsonFieldAtByte(bytes, start, end, invalid);
  const where = unit ?? (location.item !== undefined ? "item" : location.line !== undefined ? "line" : "file");
  const shown = Array.from(bytes.subarray(invalid, Math.min(invalid + 4, end)), (byte) => byte.toString(16).padStart(2, "0")).join(" ");
  throw new InputError(
    `invalid UTF-8 at byte ${invalid - start} of the ${where} (bytes ${shown}); the file must be UTF-8: convert it (e.g. iconv -f latin1 -t utf-8) or fix the bytes`,
    { ...location, ...(field ? { field } : {}) },
  );
}
