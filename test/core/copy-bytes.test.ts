import { describe, expect, it } from "vitest";
import { copyBytes, copyUnshared } from "../../src/io/copy-bytes";

/** Bytes that differ at every position, so a shifted or short copy shows. */
function pattern(buffer: ArrayBufferLike, length: number): Uint8Array {
  const bytes = new Uint8Array(buffer, 0, length);
  for (let index = 0; index < length; index += 1) bytes[index] = (index * 131 + 7) % 251;
  return bytes;
}

describe("copyBytes", () => {
  // Lengths below, at and above the loop and staged-copy thresholds; every alignment of both ends.
  const lengths = [0, 5, 23, 24, 100, 255, 256, 257, 1000, 70_000];
  const cases = [
    { name: "shared to unshared", source: () => new SharedArrayBuffer(80_000), target: () => new ArrayBuffer(80_000) },
    { name: "unshared to shared", source: () => new ArrayBuffer(80_000), target: () => new SharedArrayBuffer(80_000) },
    { name: "shared to shared", source: () => new SharedArrayBuffer(80_000), target: () => new SharedArrayBuffer(80_000) },
    { name: "unshared to unshared", source: () => new ArrayBuffer(80_000), target: () => new ArrayBuffer(80_000) },
  ];
  for (const { name, source, target } of cases) {
    it(`copies exactly the range, ${name}, at every alignment`, () => {
      const from = pattern(source(), 80_000);
      for (const length of lengths) {
        for (let start = 0; start < 8; start += 1) {
          for (let offset = 0; offset < 8; offset += 1) {
            const to = new Uint8Array(target(), 0, 80_000).fill(0xee);
            const end = copyBytes(from, start + 3, start + 3 + length, to, offset + 5);
            expect(end).toBe(offset + 5 + length);
            expect(Buffer.from(to.subarray(offset + 5, end)).equals(Buffer.from(from.subarray(start + 3, start + 3 + length)))).toBe(true);
            // Nothing before or after the range was touched.
            expect(to[offset + 4]).toBe(0xee);
            expect(to[end]).toBe(0xee);
          }
        }
      }
    });
  }

  it("copies from views that do not start at their buffer's start", () => {
    const from = pattern(new SharedArrayBuffer(4096), 4096).subarray(13);
    const to = new Uint8Array(new ArrayBuffer(4096)).subarray(6);
    copyBytes(from, 100, 1100, to, 1);
    expect(Buffer.from(to.subarray(1, 1001)).equals(Buffer.from(from.subarray(100, 1100)))).toBe(true);
  });
});

describe("copyUnshared", () => {
  it("copies exactly the range of a view into its buffer, short and long", () => {
    const buffer = new ArrayBuffer(4096);
    const from = pattern(buffer, 4096).subarray(13);
    for (const length of [0, 5, 23, 24, 1000]) {
      const to = new Uint8Array(2048).fill(0xee);
      const end = copyUnshared(from, buffer, from.byteOffset, 100, 100 + length, to, 7);
      expect(end).toBe(7 + length);
      expect(Buffer.from(to.subarray(7, end)).equals(Buffer.from(from.subarray(100, 100 + length)))).toBe(true);
      expect([to[6], to[end]]).toEqual([0xee, 0xee]);
    }
  });
});
