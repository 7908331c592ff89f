import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  InputError,
  readArrow,
  readCsv,
  readJsonArray,
  readJsonl,
  readRows,
  readSource,
  writeArrow,
  writeCsv,
  writeJsonArray,
  writeJsonl,
  type CanonicalRecord,
} from "../../src/index";
import { requirePython, runPython } from "../support/python";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

const records: CanonicalRecord[] = [
  {
    id: "lima-0000",
    lang: "de",
    source: "lima-x",
    messages: [
      { role: "user", content: "Wie kehre ich eine Liste um? 🙂" },
      { role: "assistant", content: "```python\nxs[::-1]\n```\nFertig, „so“." },
    ],
    meta: { source: "stackexchange" },
  },
  {
    id: "lima-0001",
    lang: "de",
    source: "lima-x",
    messages: [
      { role: "user", content: "Eins" },
      { role: "assistant", content: "Zwei" },
      { role: "user", content: "Drei, mit \"Anführungszeichen\", Komma\nund Zeile" },
      { role: "assistant", content: "Vier" },
    ],
    meta: {},
  },
];

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("JSONL", () => {
  it("round-trips records, gzipped by extension, and reports rows and the sha256 of the bytes on disk", async () => {
    const directory = await makeDirectory();
    for (const name of ["a.jsonl", "a.jsonl.gz"]) {
      const path = join(directory, name);
      const written = await writeJsonl(path, records);
      expect(written.rows).toBe(2);
      const bytes = await readFile(path);
      expect(written.bytes).toBe(bytes.length);
      const { createHash } = await import("node:crypto");
      expect(written.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect((await collect(readJsonl(path))).map((row) => row.value)).toEqual(records);
    }
    expect(await readdir(directory)).toEqual(["a.jsonl", "a.jsonl.gz"]);
  });

  it("names the file and line of a malformed line", async () => {
    const path = join(await makeDirectory(), "bad.jsonl");
    await writeFile(path, '{"a": 1}\n\n{"a": 2,}\n');
    const error = await collect(readJsonl(path)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).line).toBe(3);
    expect((error as Error).message).toMatch(/bad\.jsonl:3: not valid JSON/);
  });

  it("leaves nothing behind when the rows fail midway", async () => {
    const directory = await makeDirectory();
    async function* failing() {
      yield records[0];
      throw new Error("boom");
    }
    await expect(writeJsonl(join(directory, "x.jsonl"), failing())).rejects.toThrow("boom");
    expect(await readdir(directory)).toEqual([]);
  });
});

describe("JSON arrays", () => {
  it("reads a gzipped array as Bactrian-X ships it and writes arrays back", async () => {
    const directory = await makeDirectory();
    const path = join(directory, "de.json.gz");
    await writeFile(path, gzipSync(JSON.stringify([{ instruction: "a", input: "", id: "alpaca-1", output: "b" }])));
    expect(await collect(readJsonArray(path))).toEqual([{ value: { instruction: "a", input: "", id: "alpaca-1", output: "b" }, item: 0 }]);
    const out = join(directory, "copy.json");
    await writeJsonArray(out, records);
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual(records);
  });

  it("reports the line of a syntax error and rejects a non-array", async () => {
    const directory = await makeDirectory();
    const path = join(directory, "broken.json");
    await writeFile(path, '[\n{"id": "a"},\n{"id": }\n]');
    await expect(collect(readJsonArray(path))).rejects.toThrow(/broken\.json:3: not valid JSON/);
    await writeFile(path, '{"id": "a"}');
    // A .json file that does not start with "[" is read as JSON Lines by readRows.
    expect((await collect(readRows(path))).length).toBe(1);
    await expect(collect(readJsonArray(path))).rejects.toThrow(/expected a JSON array/);
  });
});

describe("JSON arrays, streamed element by element", () => {
  it("splits elements correctly across chunk boundaries, with brackets, commas and escaped quotes inside strings", async () => {
    const directory = await makeDirectory();
    const tricky = [
      { id: "a", text: 'quote \" and [brackets], {braces} and, commas', nested: [[1, 2], { deep: ["]"] }] },
      "a plain string, with a comma ] and bracket",
      42,
      null,
      { id: "ü🎉", text: "\\" },
    ];
    // About 3 MB, so elements straddle the 1 MB read chunks.
    const many = Array.from({ length: 3000 }, (_, index) => ({ id: `alpaca-${index}`, output: "x".repeat(1000) + `",[{${index}` }));
    for (const [name, values] of [["tricky.json", tricky], ["many.json.gz", many]] as const) {
      const path = join(directory, name);
      await writeJsonArray(path, values);
      const read = await collect(readJsonArray(path));
      expect(read.map((entry) => entry.value)).toEqual(values);
      expect(read.at(-1)!.item).toBe(values.length - 1);
    }
    await writeFile(join(directory, "empty.json"), " [ ] ");
    expect(await collect(readJsonArray(join(directory, "empty.json")))).toEqual([]);
  });

  it("rejects truncated files, trailing commas and trailing content with the item and line", async () => {
    const directory = await makeDirectory();
    const cases: [string, RegExp][] = [
      ['[{"id": "a"}, {"id": "b"', /item 1|:1: unexpected end of file inside the JSON array \(truncated download\?\)/],
      ['[{"id": "a"},]', /trailing comma/],
      ['[{"id": "a"}] x', /unexpected content after the end/],
      ['[{"id": "a"},, {"id": "b"}]', /empty element/],
      ["", /empty file/],
    ];
    for (const [text, message] of cases) {
      const path = join(directory, "case.json");
      await writeFile(path, text);
      await expect(collect(readJsonArray(path)), text).rejects.toThrow(message);
    }
  });
});

describe("Arrow IPC", () => {
  // The stream format (default) starts with a continuation marker, the file format with its magic.
  const magic = { stream: "ffffffff", file: Buffer.from("ARROW1").toString("hex") } as const;

  for (const format of ["stream", "file"] as const) {
    it(`writes the ${format} format with many record batches and reads it back`, async () => {
      const path = join(await makeDirectory(), "x.arrow");
      const many = Array.from({ length: 25 }, (_, index) => ({ ...records[index % 2]!, id: `id-${index}` }));
      const written = await writeArrow(path, many, { batchRows: 10, ...(format === "file" ? { format } : {}) });
      expect(written.rows).toBe(25);
      const bytes = await readFile(path);
      expect(bytes.subarray(0, magic[format].length / 2).toString("hex")).toBe(magic[format]);
      const rows = await collect(readArrow(path));
      expect(rows.map((row) => row.value.id)).toEqual(many.map((record) => record.id));
      expect(rows[1]!.value.messages).toEqual(many[1]!.messages);
      expect(JSON.parse(rows[0]!.value.meta as string)).toEqual(many[0]!.meta);
      // readSource turns it back into canonical records.
      expect(await collect(readSource({ path }))).toEqual(many);
    });
  }

  it("is read by pyarrow over a memory map (open_stream, or open_file for the file format), with plain Utf8 columns and no dictionaries", async () => {
    const python = requirePython(["pyarrow"]);
    const directory = await makeDirectory();
    await writeArrow(join(directory, "stream.arrow"), records, { batchRows: 1 });
    await writeArrow(join(directory, "file.arrow"), records, { batchRows: 1, format: "file" });
    const output = runPython(
      python,
      [
        "import json, sys, pyarrow as pa, pyarrow.ipc as ipc",
        "stream = ipc.open_stream(pa.memory_map(sys.argv[1])).read_all()",
        "reader = ipc.open_file(pa.memory_map(sys.argv[2]))",
        "assert reader.read_all().equals(stream)",
        "print(json.dumps({'batches': reader.num_record_batches, 'schema': str(stream.schema), 'rows': stream.to_pylist()}, ensure_ascii=False))",
      ].join("\n"),
      [join(directory, "stream.arrow"), join(directory, "file.arrow")],
    );
    const result = JSON.parse(output) as { batches: number; schema: string; rows: Record<string, unknown>[] };
    expect(result.batches).toBe(2);
    expect(result.schema).toContain("messages: list<item: struct<role: string not null, content: string not null>");
    expect(result.schema).not.toContain("dictionary");
    expect(result.rows.map((row) => ({ ...row, meta: JSON.parse(row.meta as string) }))).toEqual(records);
  });
});

describe("CSV", () => {
  it("round-trips conversations of different lengths through fast-csv", async () => {
    const path = join(await makeDirectory(), "x.csv");
    await writeCsv(path, records);
    const header = (await readFile(path, "utf8")).split("\n")[0];
    expect(header).toBe("id,lang,source,meta,role_1,content_1,role_2,content_2,role_3,content_3,role_4,content_4");
    expect(await collect(readSource({ path }))).toEqual(records);
  });

  it("reads instruction/input/output and prompt/response tables", async () => {
    const directory = await makeDirectory();
    const alpaca = join(directory, "de.csv");
    await writeFile(alpaca, 'instruction,input,output\n"Fasse zusammen","Ein Text, lang",Kurz\n');
    expect(await collect(readSource({ path: alpaca }))).toEqual([
      { id: "alpaca-0", lang: "de", source: "alpaca", messages: [{ role: "user", content: "Fasse zusammen\n\nEin Text, lang" }, { role: "assistant", content: "Kurz" }], meta: {} },
    ]);
    const pairs = join(directory, "pairs.csv");
    await writeFile(pairs, "id,lang,prompt,response\nq1,fr,Bonjour ?,Salut\n");
    expect((await collect(readSource({ path: pairs })))[0]).toMatchObject({ id: "q1", lang: "fr", messages: [{ content: "Bonjour ?" }, { content: "Salut" }] });
  });

  it("rejects a row with the wrong number of columns, naming the line", async () => {
    const path = join(await makeDirectory(), "x.csv");
    await writeFile(path, "prompt,response\na,b\nc,d,e\n");
    await expect(collect(readCsv(path))).rejects.toThrow(/x\.csv:3: row 2 has a different number of columns/);
  });
});

describe("Parquet", () => {
  it("reads a Parquet file written by pyarrow (as the hub converts datasets)", async () => {
    const python = requirePython(["pyarrow"]);
    const path = join(await makeDirectory(), "es.parquet");
    runPython(
      python,
      [
        "import sys, pyarrow as pa, pyarrow.parquet as pq",
        "table = pa.table({'instruction': ['Hola', 'Adiós'], 'input': ['', 'x'], 'id': ['alpaca-1', 'dolly-2'], 'output': ['¡Hola!', 'Chao']})",
        "pq.write_table(table, sys.argv[1], row_group_size=1)",
      ].join("\n"),
      [path],
    );
    const read = await collect(readSource({ path }));
    expect(read).toEqual([
      { id: "alpaca-1", lang: "es", source: "bactrian-x", messages: [{ role: "user", content: "Hola" }, { role: "assistant", content: "¡Hola!" }], meta: { origin: "alpaca" } },
      { id: "dolly-2", lang: "es", source: "bactrian-x", messages: [{ role: "user", content: "Adiós\n\nx" }, { role: "assistant", content: "Chao" }], meta: { origin: "dolly" } },
    ]);
  });
});
