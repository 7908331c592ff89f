import { readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, readArrow, type CanonicalRecord } from "../../src/index";
import { encodeLanguageFile } from "../../src/encode/encode-language-file";
import { toEncodedRows } from "../../src/record/encoded-rows";
import { RecordEncoder } from "../../src/encode/record-encoder";
import { RecordStore } from "../../src/encode/record-store";
import { writeEncodedArrow, writeEncodedJsonl } from "../../src/io/write-encoded";
import { normaliseBactrianXBytes } from "../../src/sources/bactrian-x";
import { readSource } from "../../src/sources/read-source";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

// Rows as Bactrian-X writes them, and rows the byte-level reader must hand to the general path.
const rows = [
  '{"instruction": "Schreibe ein Gedicht.", "input": "", "id": "alpaca-0", "output": "Zeile eins\\nZeile \\"zwei\\"\\t🎉"}',
  '{"instruction": "Übersetze:", "input": "Hello,\\n\\nworld \\\\ back", "id": "dolly-1", "output": "Hallo, Welt – 中文 עברית"}',
  '{"id": "alpaca-2", "output": "no input key", "instruction": "x"}',
  '{"instruction": "null input", "input": null, "id": "alpaca-3", "output": "y"}',
  '{"instruction": "caf\\u00e9 \\ud83d\\ude00 and a\\/slash", "input": "ascii escapes", "id": "alpaca-4", "output": "z"}',
  '{"instruction": "extra keys are ignored", "input": "i", "id": "alpaca-5", "output": "o", "lang": "fr", "extra": "e"}',
  '{"instruction": "an escaped id", "input": "", "id": "alp\\u0061ca-6", "output": "o"}',
  '{"instruction": "first", "instruction": "duplicate key, the last wins", "input": "", "id": "alpaca-7", "output": "o"}',
  '{"instruction": "control \\u0001 char", "input": "", "id": "noprefix", "output": ""}',
  '{ "instruction" : "spacing" ,\n  "input" : "" , "id" : "alpaca-9" , "output" : "o" }',
  '{"instruction": "a repeated id keeps the first", "input": "", "id": "alpaca-0", "output": "second"}',
];

async function writeArray(elements: string[]): Promise<string> {
  const path = join(await makeDirectory(), "de.json");
  await writeFile(path, `[\n ${elements.join(",\n ")}\n]\n`);
  return path;
}

async function generalPath(path: string): Promise<RecordStore> {
  const encoder = new RecordEncoder("de");
  for await (const record of readSource({ path, lang: "de", format: "bactrian-x", allowEmpty: true })) encoder.add(record);
  return new RecordStore(encoder.finish());
}

describe("Bactrian-X byte-level reader", () => {
  it("encodes exactly what parsing and normalising each row gives: records, JSONL bytes, Arrow values, characters", async () => {
    const path = await writeArray(rows);
    // The rows include an empty output, which both paths keep only when asked to.
    const fast = new RecordStore((await encodeLanguageFile({ path, lang: "de", format: "bactrian-x", allowEmpty: true })).encoded);
    const general = await generalPath(path);
    expect([...fast.keys()]).toEqual([...general.keys()]);
    expect(fast.size).toBe(10);
    for (const id of general.keys()) {
      expect(fast.get(id)).toEqual(general.get(id));
      expect(fast.encoded(id)!.characters).toBe(general.encoded(id)!.characters);
    }
    expect(fast.get("alpaca-0")!.messages[1]!.content).toBe('Zeile eins\nZeile "zwei"\t🎉');
    expect(fast.get("dolly-1")!.messages[0]!.content).toBe("Übersetze:\n\nHello,\n\nworld \\ back");
    expect(fast.get("alpaca-4")!.messages[0]!.content).toBe("café 😀 and a/slash\n\nascii escapes");
    expect(fast.get("noprefix")!.meta).toEqual({ origin: "unknown" });

    const directory = await makeDirectory();
    const ids = [...general.keys()];
    for (const [name, store] of [["fast", fast], ["general", general]] as const) {
      const table = toEncodedRows(ids.map((id) => store.encoded(id)!));
      await writeEncodedJsonl(join(directory, `${name}.jsonl`), table);
      await writeEncodedArrow(join(directory, `${name}.arrow`), table, { batchRows: 3 });
    }
    const fastLines = await readFile(join(directory, "fast.jsonl"), "utf8");
    expect(fastLines).toBe(await readFile(join(directory, "general.jsonl"), "utf8"));
    expect(fastLines).toBe(ids.map((id) => JSON.stringify(general.get(id)) + "\n").join(""));
    const arrowRows = async (name: string) => {
      const values: CanonicalRecord[] = [];
      for await (const { value } of readArrow(join(directory, `${name}.arrow`))) values.push({ ...(value as unknown as CanonicalRecord), meta: JSON.parse(value.meta as string) });
      return values;
    };
    expect(await arrowRows("fast")).toEqual(ids.map((id) => general.get(id)));
  });

  it("takes plainly shaped rows from their bytes and hands the others to JSON.parse", () => {
    const taken = rows.map((row) => normaliseBactrianXBytes(Buffer.from(row), 0, Buffer.byteLength(row), { lang: "de" }) !== undefined);
    // \u and \/ escapes, an escaped id and a duplicated key go the general way; the rest is read from bytes.
    expect(taken).toEqual([true, true, true, true, false, true, false, false, false, true, true]);
  });

  it("counts characters and finds escapes and the closing quote wherever they fall in a word of four bytes", () => {
    const pieces = ["a", "ü", "中", "🎉", "\n", '"', "\\", "\t", "bc", "ß"];
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) % pieces.length;
    for (let sample = 0; sample < 400; sample += 1) {
      // Texts of every length up to 40 pieces, padded before the row so that each starts at every offset mod 4.
      const text = Array.from({ length: sample % 41 }, () => pieces[next()]!).join("");
      const row = `${" ".repeat(sample % 4)}{"instruction": ${JSON.stringify(text)}, "input": "", "id": "alpaca-${sample}", "output": ${JSON.stringify(text + "x")}}`;
      const raw = normaliseBactrianXBytes(Buffer.from(row), 0, Buffer.byteLength(row), { lang: "de" });
      if (!/[!-~]/.test(text)) {
        // A message that may be blank is left to the general path, which rejects an empty one by name.
        expect(raw, row).toBeUndefined();
        continue;
      }
      expect(raw, row).toBeDefined();
      expect(raw!.messages[0]!.content.characters).toBe([...text].length);
      expect(raw!.messages[1]!.content.characters).toBe([...text].length + 1);
      expect(raw!.messages[1]!.content.escaped).toBe(JSON.stringify(text).length !== text.length + 2);
    }
    for (let at = 0; at < 8; at += 1) {
      // A raw control character is not JSON: left to JSON.parse, which reports it.
      const row = `{"instruction": "${"abcdefgh".slice(0, at)}\u0001tail", "input": "", "id": "alpaca-1", "output": "o"}`;
      expect(normaliseBactrianXBytes(Buffer.from(row), 0, Buffer.byteLength(row), { lang: "de" })).toBeUndefined();
    }
  });

  it("reads rows as it finds them across gunzipped chunks, and reports a broken one with its line", async () => {
    // Laid out as Bactrian-X ships its files: one key per line; about 3 MB, so rows straddle the
    // 1 MB chunks the reader gets.
    const elements = Array.from({ length: 3000 }, (_, index) =>
      JSON.stringify({ instruction: `Frage ${index}`, input: index % 3 === 0 ? "" : "Eingabe\n", id: `alpaca-${index}`, output: `Antwort "${index}" ` + "ä€𝄞".repeat(index % 200) }, null, 2)
        .split("\n")
        .join("\n "),
    );
    const text = (items: string[]) => `[\n ${items.join(",\n ")}\n]\n`;
    const directory = await makeDirectory();
    const path = join(directory, "de.json.gz");
    await writeFile(path, gzipSync(text(elements)));
    const fast = new RecordStore((await encodeLanguageFile({ path, lang: "de", format: "bactrian-x" })).encoded);
    const general = await generalPath(path);
    expect(fast.size).toBe(3000);
    for (const id of general.keys()) expect(fast.get(id)).toEqual(general.get(id));

    // Row 2500 loses a colon: the byte-level reader leaves it to JSON.parse, which fails on it.
    const broken = [...elements];
    broken[2500] = broken[2500]!.replace('"output":', '"output"');
    await writeFile(path, gzipSync(text(broken)));
    const line = text(broken).slice(0, text(broken).indexOf('"id": "alpaca-2500"')).split("\n").length - 3;
    const error = await encodeLanguageFile({ path, lang: "de", format: "bactrian-x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).line).toBe(line);
    expect((error as Error).message).toContain(`${path}:${line}: not valid JSON`);

    // Two rows without a comma between them.
    const missingComma = text(elements.slice(0, 5)).replace(`,\n ${elements[3]}`, `\n ${elements[3]}`);
    expect(missingComma).not.toBe(text(elements.slice(0, 5)));
    await writeFile(path, gzipSync(missingComma));
    await expect(encodeLanguageFile({ path, lang: "de", format: "bactrian-x" })).rejects.toThrow(/expected a comma between two elements/);
  });

  it("reports a bad row with its file, item and field, as the general reader does", async () => {
    const path = await writeArray([rows[0]!, '{"instruction": "x", "input": "", "id": "alpaca-1", "output": 42}']);
    const error = await encodeLanguageFile({ path, lang: "de", format: "bactrian-x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${path} item 1 field "output": expected a string, found number 42`);
  });

  it("leaves files of other formats to the general reader", async () => {
    const path = await writeArray(['{"id": "a", "lang": "de", "source": "s", "messages": [{"role": "user", "content": "hi"}], "meta": {}}']);
    const store = new RecordStore((await encodeLanguageFile({ path, lang: "de" })).encoded);
    expect(store.get("a")).toEqual({ id: "a", lang: "de", source: "s", messages: [{ role: "user", content: "hi" }], meta: {} });
  });
});
