import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile, mkdir, copyFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readArrow, validateDataset } from "../../src/index";
import { requirePython, runPython } from "../support/python";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const bactrianX = join(repositoryRoot, "fixtures", "bactrian-x");
const STUDY = ["EN", "DE", "FR", "IT", "ES", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled"];

async function jsonlRows(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function hashes(directory: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of (await readdir(directory, { withFileTypes: true, recursive: true })).filter((item) => item.isFile())) {
    const path = join(entry.parentPath, entry.name);
    result[relative(directory, path)] = createHash("sha256").update(await readFile(path)).digest("hex");
  }
  return Object.fromEntries(Object.entries(result).sort(([left], [right]) => (left < right ? -1 : 1)));
}

describe("build-datasets compose", () => {
  it("writes the nine study compositions with exact row counts, disjoint -sampled ids, valid files and matching Arrow", async () => {
    const out = await makeDirectory();
    const result = runBuiltCli(["compose", "--input", bactrianX, "--compositions", STUDY.join(","), "--seed", "7", "--out", out, "--format", "jsonl,arrow"]);
    expect(result.stderr).toContain("3 ids not in every language were left out: 3 missing in it");
    expect(result.status).toBe(0);
    const n = 297; // 300 ids, 3 missing in Italian
    const expected: Record<string, number> = { EN: n, DE: n, FR: n, IT: n, ES: n, ENDEFRITES: 5 * n, DEFRITES: 4 * n, "ENDEFRITES-sampled": n, "DEFRITES-sampled": n };
    const python = requirePython(["pyarrow"]);
    for (const composition of STUDY) {
      const rows = await jsonlRows(join(out, `${composition}.jsonl`));
      expect(rows.length, composition).toBe(expected[composition]);
      if (composition.endsWith("-sampled")) {
        expect(new Set(rows.map((row) => row.id)).size).toBe(n);
        const counts = new Map<string, number>();
        for (const row of rows) counts.set(row.lang as string, (counts.get(row.lang as string) ?? 0) + 1);
        const sizes = Array.from(counts.values());
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
      expect((await validateDataset({ path: join(out, `${composition}.jsonl`) })).problems).toEqual([]);
      const arrowRows: Record<string, unknown>[] = [];
      for await (const { value } of readArrow(join(out, `${composition}.arrow`))) arrowRows.push({ ...value, meta: JSON.parse(value.meta as string) });
      expect(arrowRows).toEqual(rows);
      const count = runPython(python, "import sys, pyarrow as pa, pyarrow.ipc as ipc\nprint(ipc.open_stream(pa.memory_map(sys.argv[1])).read_all().num_rows)", [join(out, `${composition}.arrow`)]);
      expect(Number(count)).toBe(expected[composition]);
    }
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    expect(manifest.seed).toBe(7);
    expect(manifest.inputs).toHaveLength(5);
    expect(manifest.corpora["bactrian-x"].alignment).toMatchObject({ totalIds: 300, commonIds: 297, missingByLanguage: { it: 3 } });
    const enOutput = manifest.outputs.find((output: { path: string }) => output.path === "EN.jsonl");
    expect(enOutput).toMatchObject({ rows: n, rowsPerLanguage: { en: n }, format: "jsonl", split: "train" });
    expect(enOutput.sha256).toBe(createHash("sha256").update(await readFile(join(out, "EN.jsonl"))).digest("hex"));
    expect(await readFile(join(out, "README.md"), "utf8")).toContain("- config_name: DEFRITES-sampled\n  data_files:\n  - split: train\n    path: DEFRITES-sampled.jsonl");
  });

  it("is byte-identical for the same seed and differs for another seed", async () => {
    const [first, second, third] = [await makeDirectory(), await makeDirectory(), await makeDirectory()];
    const args = (out: string, seed: string) => ["compose", "--input", bactrianX, "--compositions", "EN,DEFRITES-sampled", "--seed", seed, "--out", out, "--quiet"];
    expect(runBuiltCli(args(first, "7")).status).toBe(0);
    expect(runBuiltCli(args(second, "7")).status).toBe(0);
    expect(runBuiltCli(args(third, "8")).status).toBe(0);
    expect(await hashes(second)).toEqual(await hashes(first));
    const other = await hashes(third);
    expect(other["EN.jsonl"]).not.toBe((await hashes(first))["EN.jsonl"]);
    expect(other["DEFRITES-sampled.jsonl"]).not.toBe((await hashes(first))["DEFRITES-sampled.jsonl"]);
  });

  it("recomposed into the same --out with fewer compositions, leaves only the new ones' files beside the user's", async () => {
    const out = await makeDirectory();
    const compose = (compositions: string) => runBuiltCli(["compose", "--input", bactrianX, "--compositions", compositions, "--seed", "7", "--out", out, "--format", "jsonl", "--quiet"]);
    expect(compose("EN,DE,DEFRITES-sampled").status).toBe(0);
    await writeFile(join(out, "DE.notes.md"), "mine\n");
    expect(compose("EN").status).toBe(0);
    expect((await readdir(out, { recursive: true })).sort()).toEqual(["DE.notes.md", "EN.jsonl", "README.md", "axolotl", "axolotl/EN.yaml", "dataset_info.json", "manifest.json"].sort());
  });

  it("writes Arrow IPC streams by default and IPC files with --arrow-format file, with the trainer configs beside them", async () => {
    const [stream, file] = [await makeDirectory(), await makeDirectory()];
    expect(runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN,DE", "--validation", "0.1", "--out", stream, "--quiet"]).status).toBe(0);
    expect(runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN,DE", "--validation", "0.1", "--arrow-format", "file", "--out", file, "--quiet"]).status).toBe(0);
    expect((await readFile(join(stream, "EN.arrow"))).subarray(0, 4).toString("hex")).toBe("ffffffff");
    expect((await readFile(join(file, "EN.arrow"))).subarray(0, 6).toString("latin1")).toBe("ARROW1");
    // our own readers take both layouts: readArrow, inspect, and compose from an .arrow input
    for (const out of [stream, file]) {
      const rows = [];
      for await (const { value } of readArrow(join(out, "DE.validation.arrow"))) rows.push(value.id);
      expect(rows).toEqual((await jsonlRows(join(out, "DE.validation.jsonl"))).map((row) => row.id));
      const inspected = runBuiltCli(["inspect", join(out, "DE.arrow")]);
      expect(inspected.status).toBe(0);
      expect(inspected.stdout).toContain(`DE.arrow: ${(await jsonlRows(join(out, "DE.jsonl"))).length} rows, 1 languages`);
      const recomposed = join(out, "again");
      expect(runBuiltCli(["compose", "--input", join(out, "DE.arrow"), "--compositions", "DE", "--format", "jsonl", "--out", recomposed, "--quiet"]).status).toBe(0);
      expect(new Set((await jsonlRows(join(recomposed, "DE.jsonl"))).map((row) => JSON.stringify(row)))).toEqual(
        new Set((await jsonlRows(join(out, "DE.jsonl"))).map((row) => JSON.stringify(row))),
      );
    }
    const manifest = JSON.parse(await readFile(join(stream, "manifest.json"), "utf8"));
    expect(manifest.config.arrowFormat).toBe("stream");
    expect(JSON.parse(await readFile(join(file, "manifest.json"), "utf8")).config.arrowFormat).toBe("file");
    expect(manifest.trainerConfigs.map((config: { path: string; tool: string }) => `${config.tool} ${config.path}`)).toEqual([
      "llama-factory dataset_info.json",
      "axolotl axolotl/EN.yaml",
      "axolotl axolotl/DE.yaml",
    ]);
    const info = JSON.parse(await readFile(join(stream, "dataset_info.json"), "utf8"));
    expect(Object.keys(info)).toEqual(["EN", "EN-validation", "DE", "DE-validation"]);
    expect(info["DE-validation"]).toEqual({
      file_name: "DE.validation.jsonl",
      formatting: "sharegpt",
      columns: { messages: "messages" },
      tags: { role_tag: "role", content_tag: "content", user_tag: "user", assistant_tag: "assistant", system_tag: "system" },
    });
    const axolotl = await readFile(join(stream, "axolotl", "DE.yaml"), "utf8");
    expect(axolotl).toContain("datasets:\n  - path: DE.jsonl\n    ds_type: json\n    split: train\n    type: chat_template\n");
    expect(axolotl).toContain("test_datasets:\n  - path: DE.validation.jsonl\n");
    const card = await readFile(join(file, "README.md"), "utf8");
    expect(card).toContain("Arrow IPC **files**");
    expect(card).toContain('ipc.open_file(pa.memory_map("EN.arrow"))');
  });

  it("holds out validation ids in every language, so no translation of a validation item is in training", async () => {
    const out = await makeDirectory();
    expect(runBuiltCli(["compose", "--input", bactrianX, "--compositions", "ENDEFRITES,DE", "--validation", "0.1", "--out", out, "--quiet"]).status).toBe(0);
    const train = await jsonlRows(join(out, "ENDEFRITES.jsonl"));
    const validation = await jsonlRows(join(out, "ENDEFRITES.validation.jsonl"));
    const validationIds = new Set(validation.map((row) => row.id));
    expect(validationIds.size).toBe(30);
    expect(validation.length).toBe(150);
    expect(train.filter((row) => validationIds.has(row.id))).toEqual([]);
    const deValidation = await jsonlRows(join(out, "DE.validation.jsonl"));
    expect(new Set(deValidation.map((row) => row.id))).toEqual(validationIds);
  });

  it("fails with the file, line and field of a malformed row and leaves no partial output", async () => {
    const input = await makeDirectory();
    const out = join(await makeDirectory(), "out");
    for (const lang of ["en", "de"]) await copyFile(join(bactrianX, `${lang}.json.gz`), join(input, `${lang}.json.gz`));
    await writeFile(join(input, "fr.jsonl"), '{"instruction": "a", "input": "", "id": "alpaca-100", "output": "b"}\n{"instruction": "a", "input": "", "id": "alpaca-101"}\n');
    const result = runBuiltCli(["compose", "--input", input, "--compositions", "EN,ENDEFR", "--out", out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/fr\.jsonl:2 field "output": missing required field/);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);

    await writeFile(join(input, "fr.jsonl"), '{"instruction": "a", "input": "", "id": "alpaca-100", "output": "b"}\n{not json\n');
    const malformed = runBuiltCli(["compose", "--input", input, "--compositions", "ENFR", "--out", out]);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toMatch(/fr\.jsonl:2: not valid JSON/);
  });

  it("rejects an unknown composition, format or language with the valid choices (exit 2)", async () => {
    const out = join(await makeDirectory(), "out");
    const unknown = runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN,DEXX", "--out", out]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown composition "DEXX"');
    expect(unknown.stderr).toContain("e.g. EN, DEFRITES, ENDEFRITES-sampled");
    const missingLanguage = runBuiltCli(["compose", "--input", bactrianX, "--compositions", "ENJA", "--out", out]);
    expect(missingLanguage.status).toBe(2);
    expect(missingLanguage.stderr).toContain("has no file for ja; found languages: de, en, es, fr, it");
    const format = runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN", "--out", out, "--format", "xlsx"]);
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('unknown format "xlsx"; choose from jsonl, arrow');
    const inputFormat = runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN", "--out", out, "--input-format", "yaml"]);
    expect(inputFormat.status).toBe(2);
    expect(inputFormat.stderr).toContain("choose from canonical, messages, sharegpt, lima, bactrian-x");
    const arrowFormat = runBuiltCli(["compose", "--input", bactrianX, "--compositions", "EN", "--out", out, "--arrow-format", "feather"]);
    expect(arrowFormat.status).toBe(2);
    expect(arrowFormat.stderr).toContain('expected stream (what datasets.Dataset.from_file memory-maps) or file (pyarrow.ipc.open_file), got "feather"');
    expect(existsSync(out)).toBe(false);
    const usage = runBuiltCli(["compose", "--input", bactrianX]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("required option '--compositions <names>' not specified");
  });
});

describe("build-datasets sample, inspect, validate", () => {
  it("samples the same ids in every language and records the seed", async () => {
    const out = await makeDirectory();
    const result = runBuiltCli(["sample", "--input", bactrianX, "--n", "50", "--seed", "42", "--out", out]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("sampled 50 of 297 ids in 5 languages");
    const idSets = await Promise.all(["en", "de", "fr", "it", "es"].map(async (lang) => (await jsonlRows(join(out, `${lang}.jsonl`))).map((row) => row.id)));
    for (const ids of idSets) expect(ids).toEqual(idSets[0]);
    expect(JSON.parse(await readFile(join(out, "manifest.json"), "utf8"))).toMatchObject({ seed: 42, n: 50, population: 297 });
  });

  it("inspects a corpus per language", () => {
    const result = runBuiltCli(["inspect", bactrianX]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("1497 rows, 5 languages, 300 ids (297 in every language)");
    expect(result.stdout).toMatch(/\nit\s+297\s+297\s+1\/1\/1\s+0/);
  });

  it("validates: every problem with file:line and field, exit 1", async () => {
    const path = join(await makeDirectory(), "de.jsonl");
    const good = { id: "a", lang: "de", source: "s", messages: [{ role: "user", content: "Hallo" }, { role: "assistant", content: "Hi" }], meta: {} };
    await writeFile(
      path,
      [
        good,
        { ...good, id: "b", messages: [{ role: "assistant", content: "zuerst" }] },
        { ...good, id: "c", messages: [{ role: "user", content: "" }] },
        { ...good },
        { ...good, id: "d", messages: [{ role: "robot", content: "x" }] },
      ]
        .map((row) => JSON.stringify(row))
        .join("\n"),
    );
    const result = runBuiltCli(["validate", path]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`${path}:2 field "messages": the conversation does not start with a user turn`);
    expect(result.stdout).toContain(`${path}:3 field "messages.0.content": empty message`);
    expect(result.stdout).toContain(`${path}:4 field "id": duplicate id "a" in language de (first at ${path}:1)`);
    expect(result.stdout).toContain(`${path}:5 field "messages.0.role"`);
    expect(result.stdout).toContain("5 rows checked, 4 problems");
    await mkdir(join(path, "..", "ok"));
    await writeFile(join(path, "..", "ok", "de.jsonl"), JSON.stringify(good) + "\n");
    expect(runBuiltCli(["validate", join(path, "..", "ok")]).status).toBe(0);
  });
});
