import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { toEncodedRows } from "../../src/record/encoded-rows";
import { RecordStore } from "../../src/encode/record-store";
import { sha256File } from "../../src/io/hash-file";
import { writeEncoded, writeEncodedArrow, writeEncodedJsonl } from "../../src/io/write-encoded";
import type { CanonicalRecord } from "../../src/record/canonical-record";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

// Lines from a few dozen bytes to several times the JSONL buffer used below, with escapes.
const recordsOf = (lang: string): CanonicalRecord[] =>
  Array.from({ length: 40 }, (_, index) => ({
    id: `alpaca-${index}`,
    lang,
    source: "bactrian-x",
    messages: [
      { role: "user", content: `${lang} ${index}\n"${"ä".repeat(index * index)}"` },
      { role: "assistant", content: "\t🎉".repeat(index % 7) },
    ],
    meta: { origin: "alpaca" },
  }));

describe("writeEncoded", () => {
  it("writes JSONL and Arrow from one pass over the rows, byte for byte as written one at a time", async () => {
    const stores = ["de", "fr"].map((lang) => RecordStore.fromRecords(lang, recordsOf(lang)));
    // Interleaved languages in a scrambled order, as compositions are.
    const rows = Array.from({ length: 80 }, (_, index) => stores[index % 2]!.encoded(`alpaca-${(index * 17) % 40}`)!);
    const table = toEncodedRows(rows);
    const directory = await makeDirectory();
    const file = (name: string) => join(directory, name);
    // A 512-byte buffer fills up many times within each batch of 7 rows.
    const together = await writeEncoded(table, { jsonl: file("both.jsonl"), arrow: file("both.arrow") }, { batchRows: 7, bufferBytes: 512 });
    const jsonl = await writeEncodedJsonl(file("alone.jsonl"), table, { bufferBytes: 512 });
    const arrow = await writeEncodedArrow(file("alone.arrow"), table, { batchRows: 7 });
    expect(together).toEqual({ jsonl, arrow });
    expect(jsonl.rows).toBe(80);
    expect(await readFile(file("both.jsonl"))).toEqual(await readFile(file("alone.jsonl")));
    expect(await readFile(file("both.arrow"))).toEqual(await readFile(file("alone.arrow")));
    expect(await readFile(file("both.jsonl"), "utf8")).toBe(rows.map((row) => JSON.stringify(stores[row.lang === "de" ? 0 : 1]!.get(row.id)) + "\n").join(""));
    expect(together.jsonl!.sha256).toBe(await sha256File(file("both.jsonl")));

    const gzipped = await writeEncoded(table, { jsonl: file("both.jsonl.gz"), arrow: file("gz.arrow") }, { batchRows: 7, bufferBytes: 512 });
    expect(gunzipSync(await readFile(file("both.jsonl.gz")))).toEqual(await readFile(file("alone.jsonl")));
    expect(gzipped.jsonl!.sha256).toBe(await sha256File(file("both.jsonl.gz")));
    expect(gzipped.arrow).toEqual(arrow);
  });
});
