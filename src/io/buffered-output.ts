import type { AtomicFile } from "./atomic-write";
import { copyBytes, copyUnshared } from "./copy-bytes";

const DEFAULT_BUFFER_BYTES = 4 << 20;

/**
 * Buffers of finished outputs, kept for the next one (per thread, as module state is): fresh
 * memory costs a page fault per 4 KB on first touch, 2 x 4 MB per file otherwise.
 */
const spareBuffers: Uint8Array[] = [];
const EMPTY = new Uint8Array(0);
const MAX_SPARE_BUFFERS = 4;

function takeBuffer(bytes: number): Uint8Array {
  return (bytes === DEFAULT_BUFFER_BYTES ? spareBuffers.pop() : undefined) ?? new Uint8Array(bytes);
}

/**
 * Bytes gathered into two buffers that take turns: one is filled while the other is written, so
 * copying and disk writes overlap, and no buffer is allocated per chunk (less garbage, a flat
 * memory profile). Call `flush` when `room` is too small, then `append`; `finish` writes the rest.
 */
export class BufferedOutput {
  private readonly buffers: Uint8Array[];
  private current = 0;
  private used = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: AtomicFile,
    bufferBytes = DEFAULT_BUFFER_BYTES,
  ) {
    this.buffers = [takeBuffer(bufferBytes), takeBuffer(bufferBytes)];
  }

  /** Bytes that still fit into the current buffer. */
  get room(): number {
    return this.buffers[this.current]!.length - this.used;
  }

  /** Whether the current buffer holds nothing yet. */
  get empty(): boolean {
    return this.used === 0;
  }

  /** Copies `source[start, end)` into the current buffer, growing it if the bytes alone exceed it. */
  append(source: Uint8Array, start = 0, end = source.length): void {
    if (end - start > this.room) this.grow(this.used + end - start);
    this.used = copyBytes(source, start, end, this.buffers[this.current]!, this.used);
  }

  /** `append` from unshared memory whose buffer and byte offset the caller has at hand (see `copyUnshared`). */
  appendUnshared(source: Uint8Array, buffer: ArrayBufferLike, byteOffset: number, start: number, end: number): void {
    if (end - start > this.room) this.grow(this.used + end - start);
    this.used = copyUnshared(source, buffer, byteOffset, start, end, this.buffers[this.current]!, this.used);
  }

  /** Starts writing the current buffer, after the previous write finished, and switches buffers. */
  async flush(): Promise<void> {
    await this.inFlight;
    if (this.used === 0) return;
    const write = this.file.write(this.buffers[this.current]!.subarray(0, this.used));
    // Awaited by the next flush; marked handled so a failure seen first elsewhere is not reported twice.
    write.catch(() => undefined);
    this.inFlight = write;
    this.current = 1 - this.current;
    this.used = 0;
  }

  /** Writes what is left and waits until every byte is written. */
  async finish(): Promise<void> {
    await this.flush();
    await this.inFlight;
    // Nothing is in flight any more: the buffers can serve the next output.
    for (const buffer of this.buffers.splice(0, 2, EMPTY, EMPTY)) {
      if (buffer.length === DEFAULT_BUFFER_BYTES && spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
    }
  }

  private grow(bytes: number): void {
    const bigger = new Uint8Array(Math.max(bytes, 2 * this.buffers[this.current]!.length));
    bigger.set(this.buffers[this.current]!.subarray(0, this.used));
    this.buffers[this.current] = bigger;
  }
}
