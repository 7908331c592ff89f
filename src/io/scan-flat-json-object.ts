import { isJsonWhitespace, JsonByte } from "./json-bytes";

const { quote: QUOTE, backslash: BACKSLASH, colon: COLON, comma: COMMA, openBrace: OPEN_BRACE, closeBrace: CLOSE_BRACE, newline: NEWLINE } = JsonByte;

/** Where a string value sits in the scanned bytes, as `scanFlatJsonObject` reports it. */
export interface JsonStringSpan {
  /** First byte after the opening quote. */
  start: number;
  /** The closing quote. */
  end: number;
  /** Whether the value contains escapes (`\n`, `\"`, ...). */
  escaped: boolean;
  /** Unicode code points of the decoded value. */
  characters: number;
}

/** What `scanFlatJsonObject` found for each wanted key: a string, `null`, or nothing. */
export type FlatJsonValue = JsonStringSpan | null | undefined;

/**
 * Reads a JSON object whose values are all strings or null straight from its UTF-8 bytes, without
 * decoding: for each of `keys`, the span of its string value. Returns undefined, so that the
 * caller falls back to `JSON.parse`, for anything else: other value types, a key written with
 * escapes or given twice, a `\u` or `\/` escape (so that every returned value is exactly what
 * `JSON.stringify` writes for it), or any syntax error. The bytes must be valid UTF-8.
 */
export function scanFlatJsonObject(bytes: Uint8Array, start: number, end: number, keys: readonly string[]): FlatJsonValue[] | undefined {
  const read = readFlatJsonObject(bytes, skipSpace(bytes, start, end), end, keys);
  return read !== undefined && skipSpace(bytes, read.end, end) === end ? read.values : undefined;
}

/** What `readFlatJsonObject` read. */
export interface FlatJsonObject {
  values: FlatJsonValue[];
  /** The index after the object's closing brace. */
  end: number;
  /** Line breaks inside the object (between its tokens). */
  newlines: number;
}

/**
 * `scanFlatJsonObject` for an object that starts at `start` (its `{`) and ends wherever its
 * closing brace is, at `limit` at the latest: how a JSON array's elements are read in one pass
 * (see `scanJsonArrayChunks`). Undefined for what `scanFlatJsonObject` rejects, and for an object that
 * does not end before `limit`.
 */
export function readFlatJsonObject(bytes: Uint8Array, start: number, limit: number, keys: readonly string[]): FlatJsonObject | undefined {
  // Every read below is checked against `end` first: a read past a typed array's end makes V8
  // throw this function's optimised code away (and an object cut off by the end of a chunk
  // comes once per megabyte).
  const end = limit;
  newlines = 0;
  if (start >= end || bytes[start] !== OPEN_BRACE) return undefined;
  const values: FlatJsonValue[] = new Array(keys.length).fill(undefined);
  let position = skipSpace(bytes, start + 1, end);
  if (position >= end) return undefined;
  if (bytes[position] === CLOSE_BRACE) return { values, end: position + 1, newlines };
  for (;;) {
    if (bytes[position] !== QUOTE) return undefined;
    const keyEnd = bytes.indexOf(QUOTE, position + 1);
    if (keyEnd === -1 || keyEnd >= end) return undefined;
    const keyIndex = indexOfKey(keys, bytes, position + 1, keyEnd);
    position = skipSpace(bytes, keyEnd + 1, end);
    if (position >= end || bytes[position] !== COLON) return undefined;
    position = skipSpace(bytes, position + 1, end);
    if (position >= end) return undefined;
    let value: FlatJsonValue;
    if (bytes[position] === QUOTE) {
      const span = scanString(bytes, position + 1, end);
      if (span === undefined) return undefined;
      value = span;
      position = span.end + 1;
    } else if (position + 4 <= end && bytes[position] === 110 && bytes[position + 1] === 117 && bytes[position + 2] === 108 && bytes[position + 3] === 108) {
      value = null;
      position += 4;
    } else {
      return undefined;
    }
    if (keyIndex === -2) return undefined;
    if (keyIndex >= 0) {
      if (values[keyIndex] !== undefined) return undefined;
      values[keyIndex] = value;
    }
    position = skipSpace(bytes, position, end);
    if (position >= end) return undefined;
    if (bytes[position] === COMMA) {
      position = skipSpace(bytes, position + 1, end);
      if (position >= end) return undefined;
      continue;
    }
    if (bytes[position] !== CLOSE_BRACE) return undefined;
    return { values, end: position + 1, newlines };
  }
}

/** Line breaks `skipSpace` passed since `readFlatJsonObject` started (kept here: one counter, no object per call). */
let newlines = 0;

function skipSpace(bytes: Uint8Array, position: number, end: number): number {
  while (position < end && isJsonWhitespace(bytes[position]!)) {
    if (bytes[position] === NEWLINE) newlines += 1;
    position += 1;
  }
  return position;
}

/** Index of the key in `keys`, -1 for another key, -2 for a key with escapes (not compared). */
function indexOfKey(keys: readonly string[], bytes: Uint8Array, start: number, end: number): number {
  for (let position = start; position < end; position += 1) if (bytes[position] === BACKSLASH) return -2;
  search: for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    if (key.length !== end - start) continue;
    for (let offset = 0; offset < key.length; offset += 1) if (key.charCodeAt(offset) !== bytes[start + offset]) continue search;
    return index;
  }
  return -1;
}

/** The span of a string's contents from after its opening quote; undefined for what JSON.stringify would write differently. */
function scanString(bytes: Uint8Array, start: number, end: number): JsonStringSpan | undefined {
  const words = wordsOf(bytes);
  let continuationBytes = 0;
  let escapes = 0;
  let position = start;
  while (position < end) {
    // Four bytes at a time while none of them is a quote, a backslash or a control character
    // (exact tests: https://graphics.stanford.edu/~seander/bithacks.html#ValueInWord).
    while (position + 4 <= end) {
      const word = words.getInt32(position, true);
      const quote = word ^ 0x22222222;
      const backslash = word ^ 0x5c5c5c5c;
      const special = ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((word - 0x20202020) & ~word);
      if ((special & 0x80808080) !== 0) break;
      // Continuation bytes (0b10xxxxxx): top bit set, the next one clear; their count is the sum
      // of the four flags, gathered in the top byte by the multiplication.
      const continuing = (word & ~(word << 1) & 0x80808080) >>> 7;
      continuationBytes += Math.imul(continuing, 0x01010101) >>> 24;
      position += 4;
    }
    if (position >= end) break;
    const byte = bytes[position]!;
    if (byte === QUOTE) {
      return { start, end: position, escaped: escapes > 0, characters: position - start - continuationBytes - escapes };
    }
    if (byte === BACKSLASH) {
      if (position + 1 >= end) return undefined;
      const letter = bytes[position + 1];
      // JSON.stringify writes exactly these escapes; \u (other than for control characters, which
      // are rare) and \/ would change when re-encoded.
      if (letter !== QUOTE && letter !== BACKSLASH && letter !== 110 && letter !== 116 && letter !== 114 && letter !== 98 && letter !== 102) return undefined;
      escapes += 1;
      position += 2;
      continue;
    }
    if (byte < 32) return undefined; // not valid JSON: JSON.parse reports it
    continuationBytes += (byte >> 7) & ~(byte >> 6) & 1; // 1 for 0b10xxxxxx
    position += 1;
  }
  return undefined;
}

/** A DataView of the bytes being scanned, kept while the same buffer is scanned (one per row otherwise). */
let lastBytes: Uint8Array | undefined;
let lastWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
function wordsOf(bytes: Uint8Array): DataView<ArrayBufferLike> {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastWords = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastWords;
}
