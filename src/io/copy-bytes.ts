// Below about two dozen bytes (ids, languages, roles) a loop beats creating a view for set();
// above it set() wins by far (measured: 7x at 300 bytes).
const LOOP_COPY_LIMIT = 24;

/**
 * Copies `source[start, end)` into `target` at `offset` and returns the offset after it. The view
 * for `set()` is made with the constructor, not `subarray()`: measured twice as fast in general,
 * and four times as fast from a SharedArrayBuffer (the arenas writer threads read).
 */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number): number {
  const length = end - start;
  if (length < LOOP_COPY_LIMIT) {
    for (let index = 0; index < length; index += 1) target[offset + index] = source[start + index]!;
  } else {
    target.set(new Uint8Array(source.buffer, source.byteOffset + start, length), offset);
  }
  return offset + length;
}
