const BACKSLASH = 92;

/** The byte a one-letter JSON escape stands for (`\n` -> 10), by the letter's byte. */
const SIMPLE_ESCAPES: Record<number, number> = { 34: 34, 92: 92, 47: 47, 98: 8, 102: 12, 110: 10, 114: 13, 116: 9 };

/**
 * Copies the UTF-8 bytes of a JSON string literal's contents (without its quotes) from `source`
 * into `target` at `offset`, resolving escapes, and returns the new offset. Runs between
 * backslashes are found with the native `indexOf` and copied with `set`, so this is far faster
 * than decoding to a JavaScript string, `JSON.parse` and encoding again. The input is trusted
 * (written by `JSON.stringify`); a lone surrogate becomes U+FFFD, as UTF-8 encoders do.
 */
export function unescapeJsonString(source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number): number {
  let position = start;
  while (position < end) {
    let backslash = source.indexOf(BACKSLASH, position);
    if (backslash === -1 || backslash >= end) backslash = end;
    if (backslash > position) {
      target.set(source.subarray(position, backslash), offset);
      offset += backslash - position;
    }
    if (backslash === end) break;
    const letter = source[backslash + 1]!;
    if (letter !== 117 /* u */) {
      target[offset++] = SIMPLE_ESCAPES[letter]!;
      position = backslash + 2;
      continue;
    }
    let codePoint = readHex(source, backslash + 2);
    position = backslash + 6;
    if (codePoint >= 0xd800 && codePoint <= 0xdbff && source[position] === BACKSLASH && source[position + 1] === 117) {
      const low = readHex(source, position + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
        position += 6;
      }
    }
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) codePoint = 0xfffd;
    offset = writeUtf8CodePoint(codePoint, target, offset);
  }
  return offset;
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
