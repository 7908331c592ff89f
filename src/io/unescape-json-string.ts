import { copyUnshared } from "./copy-bytes";
import { JsonByte } from "./json-bytes";

const BACKSLASH = JsonByte.backslash;

/** The byte a one-letter JSON escape stands for (`\n` -> 10), by the letter's byte. */
const SIMPLE_ESCAPES = new Uint8Array(128);
for (const [letter, byte] of [[34, 34], [92, 92], [47, 47], [98, 8], [102, 12], [110, 10], [114, 13], [116, 9]] as const) SIMPLE_ESCAPES[letter] = byte;

const indexOfByte = Buffer.prototype.indexOf as (this: Uint8Array, value: number, from: number) => number;

/**
 * Copies the UTF-8 bytes of a JSON string literal's contents (without its quotes) from `source`
 * into `target` at `offset`, resolving escapes, and returns the new offset: far faster than
 * decoding to a JavaScript string, `JSON.parse` and encoding again. Backslashes are found with the
 * native `indexOf` and the runs between them copied in one go each, so no byte passes through a
 * JavaScript loop but in short runs. `target` needs room for `end - start` bytes at `offset`. Meant
 * for unshared memory (see `copyBytes` for copies out of a SharedArrayBuffer). The input is
 * trusted (written by a JSON encoder); a lone surrogate becomes U+FFFD, as UTF-8 encoders do.
 */
export function unescapeJsonString(source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number): number {
  const buffer = source.buffer;
  const byteOffset = source.byteOffset;
  let read = start;
  for (;;) {
    const found = indexOfByte.call(source, BACKSLASH, read);
    const backslash = found === -1 || found > end ? end : found;
    offset = copyUnshared(source, buffer, byteOffset, read, backslash, target, offset);
    if (backslash === end) return offset;
    const letter = source[backslash + 1]!;
    if (letter !== 117 /* u */) {
      target[offset++] = SIMPLE_ESCAPES[letter]!;
      read = backslash + 2;
      continue;
    }
    let codePoint = readHex(source, backslash + 2);
    read = backslash + 6;
    if (codePoint >= 0xd800 && codePoint <= 0xdbff && source[read] === BACKSLASH && source[read + 1] === 117) {
      const low = readHex(source, read + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
        read += 6;
      }
    }
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) codePoint = 0xfffd;
    offset = writeUtf8CodePoint(codePoint, target, offset);
  }
}

function readHex(source: Uint8Array, at: number): number {
  let value = 0;
  for (let index = at; index < at + 4; index += 1) {
    const byte = source[index]!;
    value = value * 16 + (byte <= 57 ? byte - 48 : (byte | 32) - 87);
  }
  return value;
}

function writeUtf8CodePoint(codePoint: number, target: Uint8Array, offset: number): number {
  if (codePoint < 0x80) {
    target[offset++] = codePoint;
  } else if (codePoint < 0x800) {
    target[offset++] = 0xc0 | (codePoint >> 6);
    target[offset++] = 0x80 | (codePoint & 63);
  } else if (codePoint < 0x10000) {
    target[offset++] = 0xe0 | (codePoint >> 12);
    target[offset++] = 0x80 | ((codePoint >> 6) & 63);
    target[offset++] = 0x80 | (codePoint & 63);
  } else {
    target[offset++] = 0xf0 | (codePoint >> 18);
    target[offset++] = 0x80 | ((codePoint >> 12) & 63);
    target[offset++] = 0x80 | ((codePoint >> 6) & 63);
    target[offset++] = 0x80 | (codePoint & 63);
  }
  return offset;
}
