import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readArrow, type CanonicalRecord } from "../../src/index";
import { toEncodedRows } from "../../src/record/encoded-rows";
import { RecordStore } from "../../src/encode/record-store";
import { writeEncodedArrow, writeEncodedJsonl } from "../../src/io/write-encoded";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

const tricky: CanonicalRecord[] = [
  { id: "plain", lang: "de", source: "s", messages: [{ role: "user", content: "Hallo Welt" }, { role: "assistant", content: "Grüß dich" }], meta: {} },
  {
    id: 'quote"and\\backslash',
    lang: "de",
    source: "bactrian-x",
    messages: [
      { role: "system", content: "line one\nline two\ttab \u0001 control" },
      { role: "user", content: 'He said "hi" – 🎉 emoji, 中文, עברית' },
      { role: "assistant", content: "```python\nprint('\\n')\n```\n" },
    ],
    meta: { origin: "alpaca", nested: { list: [1, "two", null] }, text: "a\nb" },
  },
  { id: "empty-content", lang: "de", source: "s", messages: [{ role: "user", content: "" }], meta: { n: 1 } },
];

describe("RecordStore (records encoded once, copied by the writers)", () => {
  it("decodes every record exactly, and writes the same JSONL as JSON.stringify and the same Arrow values", async () => {
    const store = RecordStore.fromRecords("de", tricky);
    expect(store.size).toBe(3);
    for (const record of tricky) expect(store.get(record.id)).toEqual(record);
    const encoded = tricky.map((record) => store.encoded(record.id)!);
    const codePoints = (record: CanonicalRecord) => record.messages.reduce((sum, message) => sum + [...message.content].length, 0);
    expect(encoded.map((entry) => entry.characters)).toEqual(tricky.map(codePoints));

    const directory = await makeDirectory();
    await writeEncodedJsonl(join(directory, "x.jsonl"), toEncodedRows(encoded));
    expect(await readFile(join(directory, "x.jsonl"), "utf8")).toBe(tricky.map((record) => JSON.stringify(record) + "\n").join(""));

    await writeEncodedArrow(join(directory, "x.arrow"), toEncodedRows(encoded), { batchRows: 2 });
    const rows: CanonicalRecord[] = [];
    for await (const { value } of readArrow(join(directory, "x.arrow"))) rows.push({ ...(value as unknown as CanonicalRecord), meta: JSON.parse(value.meta as string) });
    expect(rows).toEqual(tricky);
  });

  it("keeps records across arena chunks in shared memory, one record larger than a chunk", () => {
    // 16 MB chunks: ~20 MB of ordinary records, then one record of 17 MB of text.
    const text = "Grüße, 世界! ".repeat(90);
    const records: CanonicalRecord[] = Array.from({ length: 20_000 }, (_, index) => ({
      id: `r-${index}`,
      lang: "de",
      source: "s",
      messages: [{ role: "user", content: `${index}: ${text}` }],
      meta: {},
    }));
    records.push({ id: "huge", lang: "de", source: "s", messages: [{ role: "user", content: "x".repeat(17 << 20) }], meta: {} });
    records.push({ id: "after", lang: "de", source: "s", messages: [{ role: "user", content: "after the huge one" }], meta: {} });
    const store = RecordStore.fromRecords("de", records);
    const chunks = new Set(records.map((record) => store.encoded(record.id)!.chunk));
    expect(chunks.size).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) expect(chunk.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (const index of [0, 9_999, 19_999, 20_000, 20_001]) expect(store.get(records[index]!.id)).toEqual(records[index]);
  });

  it("keeps the first record of a duplicated id", () => {
    const store = RecordStore.fromRecords("de", [tricky[0]!, { ...tricky[0]!, messages: [{ role: "user", content: "second" }] }]);
    expect(store.size).toBe(1);
    expect(store.get("plain")!.messages[0]!.content).toBe("Hallo Welt");
  });
});
