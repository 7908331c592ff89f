// Below about two dozen bytes (ids, languages, roles) a loop beats creating a view for set();
// above it set() wins by far (measured: 7x at 300 bytes).
const LOOP_COPY_LIMIT = 24;
/** From about this length, a copy between shared and unshared memory pays for going in two (see `copyBytes`). */
const STAGED_COPY_MIN = 256;

/**
 * Copies between shared and unshared memory go through this buffer when their addresses differ
 * modulo 8 (see `copyBytes`). One per thread: module state is per worker.
 */
let staging = new Uint8Array(1 << 16);

/**
 * Copies `source[start, end)` into `target` at `offset` and returns the offset after it. The view
 * for `set()` is made with the constructor, not `subarray()`: measured twice as fast in general,
 * and four times as fast from a SharedArrayBuffer (the arenas writer threads read).
 *
 * V8 copies to or from a SharedArrayBuffer with relaxed atomic moves, a word at a time when both
 * addresses are 8-byte aligned alike and one byte at a time when they are not: 2.5x slower. Such
 * a copy is done in two, through `staging` placed at the shared side's alignment: one word-wise
 * relaxed copy and one plain `memcpy` (measured: as fast at 256 bytes, 40 % faster at 1 KB, 2.4x at
 * 2 KB).
 */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number): number {
  const length = end - start;
  if (length < LOOP_COPY_LIMIT) {
    for (let index = 0; index < length; index += 1) target[offset + index] = source[start + index]!;
    return offset + length;
  }
  const from = source.byteOffset + start;
  const to = target.byteOffset + offset;
  const sourceBuffer = source.buffer;
  const view = new Uint8Array(sourceBuffer, from, length);
  if (length >= STAGED_COPY_MIN && ((from ^ to) & 7) !== 0) {
    const sharedSource = sourceBuffer instanceof SharedArrayBuffer;
    if (sharedSource !== target.buffer instanceof SharedArrayBuffer) {
      const shift = (sharedSource ? from : to) & 7;
      if (shift + length > staging.length) staging = new Uint8Array(2 * (shift + length));
      staging.set(view, shift);
      target.set(new Uint8Array(staging.buffer, shift, length), offset);
      return offset + length;
    }
  }
  target.set(view, offset);
  return offset + length;
}

/**
 * `copyBytes` for a source in unshared memory whose buffer and byte offset the caller has at hand
 * (both getters are runtime calls, which showed in the Arrow writer's profile): a loop for a few
 * bytes, else one view and `set()`.
 */
export function copyUnshared(source: Uint8Array, buffer: ArrayBufferLike, byteOffset: number, start: number, end: number, target: Uint8Array, offset: number): number {
  const length = end - start;
  if (length < LOOP_COPY_LIMIT) {
    for (let index = 0; index < length; index += 1) target[offset + index] = source[start + index]!;
    return offset + length;
  }
  target.set(new Uint8Array(buffer, byteOffset + start, length), offset);
  return offset + length;
}
