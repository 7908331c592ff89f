import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toEncodedRows } from "../../src/corpus/encoded-rows";
import { RecordStore } from "../../src/corpus/record-store";
import { EncodedWriterPool, writeEncodedFile } from "../../src/io/encoded-writer-pool";
import type { CanonicalRecord } from "../../src/record/canonical-record";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
// The worker the built package runs (npm test builds before running vitest).
const script = join(repositoryRoot, "dist", "io", "encoded-write-worker.js");

const records: CanonicalRecord[] = Array.from({ length: 50 }, (_, index) => ({
  id: `alpaca-${index}`,
  lang: "de",
  source: "bactrian-x",
  messages: [
    { role: "user", content: `Frage ${index}:\n"Grüße" 🎉` },
    { role: "assistant", content: "Antwort\t".repeat(index) },
  ],
  meta: { origin: "alpaca" },
}));

describe("EncodedWriterPool (writer threads over shared memory)", () => {
  it("writes the same bytes on writer threads as in this thread, several files at once", async () => {
    expect(existsSync(script), `${script} is missing: run npm run build`).toBe(true);
    const store = RecordStore.fromRecords("de", records);
    const table = toEncodedRows([...store.keys()].reverse().map((id) => store.encoded(id)!));
    const directory = await makeDirectory();
    const pool = new EncodedWriterPool({ script });
    try {
      const threaded = await Promise.all(
        (["jsonl", "arrow", "jsonl", "arrow"] as const).map((format, index) => pool.write({ path: join(directory, `threaded-${index}.${format}`), format, table })),
      );
      for (const [index, format] of (["jsonl", "arrow"] as const).entries()) {
        const inThread = await writeEncodedFile({ path: join(directory, `here.${format}`), format, table });
        expect(threaded[index]).toEqual(inThread);
        expect(threaded[index + 2]).toEqual(inThread);
        expect(await readFile(join(directory, `threaded-${index}.${format}`))).toEqual(await readFile(join(directory, `here.${format}`)));
      }
      expect(await readFile(join(directory, "here.jsonl"), "utf8")).toBe([...records].reverse().map((record) => JSON.stringify(record) + "\n").join(""));
    } finally {
      await pool.close();
    }
  });

  it("rejects with the writer thread's error and leaves no file behind", async () => {
    const store = RecordStore.fromRecords("de", records);
    const table = toEncodedRows([store.encoded("alpaca-1")!]);
    const directory = await makeDirectory();
    await writeFile(join(directory, "not-a-folder"), "");
    const pool = new EncodedWriterPool({ script });
    try {
      const failed = pool.write({ path: join(directory, "not-a-folder", "EN.jsonl"), format: "jsonl", table });
      await expect(failed).rejects.toThrow(/ENOTDIR|EEXIST/);
      // The pool goes on with the next file.
      await expect(pool.write({ path: join(directory, "EN.jsonl"), format: "jsonl", table })).resolves.toMatchObject({ rows: 1 });
      expect(await readdir(directory)).toEqual(["EN.jsonl", "not-a-folder"]);
    } finally {
      await pool.close();
    }
  });
});
