import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { openAtomicFile } from "../../src/io/atomic-write";
import { BufferedOutput } from "../../src/io/buffered-output";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

describe("BufferedOutput (two buffers taking turns)", () => {
  it("writes every byte in order, plain and gzip, with pieces smaller and larger than a buffer", async () => {
    const source = new Uint8Array(5000).map((_, index) => (index * 7) % 251);
    const pieces = [[0, 3], [3, 40], [40, 41], [41, 1041], [1041, 1100], [1100, 5000]] as const;
    for (const gzip of [false, true]) {
      const path = join(await makeDirectory(), gzip ? "out.bin.gz" : "out.bin");
      const file = await openAtomicFile(path, { gzip });
      const output = new BufferedOutput(file, 64);
      for (const [start, end] of pieces) {
        if (end - start > output.room) await output.flush();
        output.append(source, start, end);
      }
      await output.finish();
      const { sha256, bytes } = await file.commit();
      const onDisk = await readFile(path);
      expect(sha256).toBe(createHash("sha256").update(onDisk).digest("hex"));
      expect(bytes).toBe(onDisk.length);
      expect(new Uint8Array(gzip ? gunzipSync(onDisk) : onDisk)).toEqual(source);
    }
  });
});
