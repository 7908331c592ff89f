import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toEncodedRows } from "../../src/record/encoded-rows";
import { RecordStore } from "../../src/encode/record-store";
import { EncodedWriterPool, writeEncodedFiles, type EncodedWriteResult } from "../../src/io/encoded-writer-pool";
import type { CanonicalRecord } from "../../src/record/canonical-record";
import { sourceWorkerScripts } from "../support/source-worker-script";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

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
  it("writes the same bytes on writer threads as in this thread, several tasks at once, one or both formats", async () => {
    const store = RecordStore.fromRecords("de", records);
    const table = toEncodedRows([...store.keys()].reverse().map((id) => store.encoded(id)!));
    const directory = await makeDirectory();
    const pool = new EncodedWriterPool({ workerScripts: sourceWorkerScripts });
    const tasks = (prefix: string) => [
      { table, jsonl: join(directory, `${prefix}-both.jsonl`), arrow: join(directory, `${prefix}-both.arrow`) },
      { table, jsonl: join(directory, `${prefix}-alone.jsonl`) },
      { table, arrow: join(directory, `${prefix}-alone.arrow`) },
    ];
    try {
      const threaded = await Promise.all(tasks("threaded").map((task) => pool.write(task)));
      const here: EncodedWriteResult[] = [];
      for (const task of tasks("here")) here.push(await writeEncodedFiles(task));
      expect(threaded).toEqual(here);
      expect(here[0]).toEqual({ jsonl: here[1]!.jsonl, arrow: here[2]!.arrow });
      for (const name of ["both.jsonl", "both.arrow", "alone.jsonl", "alone.arrow"]) {
        expect(await readFile(join(directory, `threaded-${name}`))).toEqual(await readFile(join(directory, `here-${name}`)));
      }
      expect(await readFile(join(directory, "here-both.jsonl"), "utf8")).toBe([...records].reverse().map((record) => JSON.stringify(record) + "\n").join(""));
    } finally {
      await pool.close();
    }
    // The writes above ran on threads started from the injected script: one that cannot start fails them.
    const broken = new EncodedWriterPool({ workerScripts: () => ({ path: join(directory, "no-such-worker.mjs") }) });
    try {
      await expect(broken.write({ table, jsonl: join(directory, "never.jsonl") })).rejects.toThrow(/no-such-worker|Cannot find/);
    } finally {
      await broken.close();
    }
  });

  it("rejects with the writer thread's error and leaves no file behind", async () => {
    const store = RecordStore.fromRecords("de", records);
    const table = toEncodedRows([store.encoded("alpaca-1")!]);
    const directory = await makeDirectory();
    await writeFile(join(directory, "not-a-folder"), "");
    const pool = new EncodedWriterPool({ workerScripts: sourceWorkerScripts });
    try {
      const failed = pool.write({ table, jsonl: join(directory, "not-a-folder", "EN.jsonl"), arrow: join(directory, "EN.arrow") });
      await expect(failed).rejects.toThrow(/ENOTDIR|EEXIST/);
      // The pool goes on with the next file.
      // A failing Arrow file takes the JSONL file written with it along.
      await expect(pool.write({ table, jsonl: join(directory, "DE.jsonl"), arrow: join(directory, "not-a-folder", "DE.arrow") })).rejects.toThrow(/ENOTDIR|EEXIST/);
      await expect(pool.write({ table, jsonl: join(directory, "EN.jsonl") })).resolves.toMatchObject({ jsonl: { rows: 1 } });
      expect(await readdir(directory)).toEqual(["EN.jsonl", "not-a-folder"]);
    } finally {
      await pool.close();
    }
  });
});
