import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { firstInvalidUtf8Byte } from "../../src/io/strict-utf8";
import { requirePython, runPython } from "../support/python";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();
const STACK = /\n\s+at /;

const row = (id: string, output: string) => `{"id":"${id}","instruction":"Say it.","input":"","output":"${output}"}`;

describe("invalid UTF-8 is an error naming file, line or item, field and byte offset (repro: silently replaced by U+FFFD)", () => {
  it("finds the first byte that is not well-formed UTF-8, as a fatal TextDecoder judges it", () => {
    const cases: number[][] = [[0x61, 0xff], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80]];
    for (const bytes of cases) {
      const array = Uint8Array.from(bytes);
      let fatal = false;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(array);
      } catch {
        fatal = true;
      }
      expect(firstInvalidUtf8Byte(array) !== -1, bytes.join(",")).toBe(fatal);
    }
    expect(firstInvalidUtf8Byte(Uint8Array.from([0x61, 0x62, 0xff]))).toBe(2);
  });

  it("in JSON Lines, JSON arrays (the Bactrian-X fast path) and CSV, in every command", async () => {
    const directory = await makeTemporaryDirectory();
    const lines = join(directory, "lines");
    await mkdir(lines);
    await writeFile(join(lines, "en.jsonl"), Buffer.concat([Buffer.from(row("a", "fine") + "\n" + row("b", "ok ").slice(0, -2)), Buffer.from([0xff, 0xfe]), Buffer.from(' here"}\n')]));
    await writeFile(join(lines, "de.jsonl"), row("a", "gut") + "\n" + row("b", "gut") + "\n");
    const array = join(directory, "array");
    await mkdir(array);
    const english = (await readFile(join(repositoryRoot, "fixtures/bactrian-x/en.json.gz")));
    await writeFile(join(array, "de.json.gz"), await readFile(join(repositoryRoot, "fixtures/bactrian-x/de.json.gz")));
    const { gunzipSync } = await import("node:zlib");
    const text = gunzipSync(english);
    const at = text.indexOf("Soft and quiet", text.indexOf("alpaca-101"));
    await writeFile(join(array, "en.json.gz"), gzipSync(Buffer.concat([text.subarray(0, at + 4), Buffer.from([0xe9]), text.subarray(at + 4)])));
    const csv = join(directory, "table.csv");
    await writeFile(csv, Buffer.concat([Buffer.from("id,lang,prompt,response\nx,en,Hello,W"), Buffer.from([0xf6]), Buffer.from("rld\n")]));

    const jsonl = /en\.jsonl:2 field "output": invalid UTF-8 at byte \d+ of the line \(bytes ff fe/;
    for (const args of [["inspect", lines], ["validate", lines], ["compose", "--input", lines, "--compositions", "EN,DE", "--out", join(directory, "o1"), "--quiet"], ["sample", "--input", lines, "--n", "1", "--out", join(directory, "o2"), "--quiet"]]) {
      const run = await runCliAsync(args);
      expect(run.status, args.join(" ")).toBe(1);
      // validate lists it with the other problems (stdout); the other commands stop at it (stderr).
      expect(args[0] === "validate" ? run.stdout : run.stderr).toMatch(jsonl);
      expect(run.stderr).not.toMatch(STACK);
    }
    const jsonArray = /en\.json\.gz item 2 field "output": invalid UTF-8 at byte \d+ of the item \(bytes e9/;
    for (const args of [["inspect", array], ["compose", "--input", array, "--compositions", "EN,DE", "--out", join(directory, "o3"), "--quiet"]]) {
      const run = await runCliAsync(args);
      expect(run.status, args.join(" ")).toBe(1);
      expect(run.stderr).toMatch(jsonArray);
    }
    const table = await runCliAsync(["inspect", csv]);
    expect(table.status).toBe(1);
    expect(table.stderr).toMatch(/table\.csv:2: invalid UTF-8 at byte 12 of the line \(bytes f6/);
  }, 60_000);
});

describe("empty inputs, misnamed files, empty messages and odd LIMA conversations are errors in every command", () => {
  it("an empty or [] language file names the file (build, compose, sample, translate, inspect, validate); --allow-empty keeps it", async () => {
    const { directory, corpus, empty } = await writeEmptyInputs();
    const config = join(directory, "study.json");
    await writeFile(config, JSON.stringify({ languages: ["en", "de"], compositions: ["EN", "DE"], formats: ["jsonl"], corpora: { b: { path: corpus, format: "bactrian-x" } } }));
    const runs: [string[], RegExp][] = [
      [["build", "--config", config, "--out", join(directory, "o1"), "--quiet"], /de\.json\.gz: has no rows .*--allow-empty/],
      [["compose", "--input", corpus, "--compositions", "EN,DE", "--out", join(directory, "o2"), "--quiet"], /de\.json\.gz: has no rows .*--allow-empty/],
      [["sample", "--input", corpus, "--n", "1", "--out", join(directory, "o3"), "--quiet"], /de\.json\.gz: has no rows .*--allow-empty/],
      [["translate", "--input", empty, "--to", "de", "--provider", "cache", "--cache", join(directory, "cache.jsonl"), "--out", join(directory, "o4"), "--quiet"], /empty\.jsonl: has no rows .*--allow-empty/],
      [["inspect", empty], /empty\.jsonl: has no rows/],
      [["inspect", corpus], /de\.json\.gz: has no rows/],
      [["validate", corpus], /de\.json\.gz: has no rows/],
    ];
    for (const [args, message] of runs) {
      const run = await runCliAsync(args);
      expect(run.status, args.join(" ")).toBe(1);
      expect(run.stdout + run.stderr, args.join(" ")).toMatch(message);
      expect(run.stderr).not.toMatch(STACK);
    }
    for (const out of ["o1", "o2", "o3", "o4"]) expect(await readFile(join(directory, out, "manifest.json"), "utf8").catch(() => "none")).toBe("none");
    const allowed = await runCliAsync(["compose", "--input", corpus, "--compositions", "EN,DE", "--out", join(directory, "o5"), "--quiet", "--allow-empty"]);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(await readFile(join(directory, "o5", "DE.jsonl"), "utf8")).toBe("");
  }, 120_000);

  it("data files named after no language are skipped with a warning listing each and why, and recorded in the manifest; EN.jsonl is en", async () => {
    const directory = await makeTemporaryDirectory();
    const corpus = join(directory, "corpus");
    await mkdir(corpus);
    const english = await readFile(join(repositoryRoot, "fixtures/bactrian-x/en.json.gz"));
    await writeFile(join(corpus, "EN.json.gz"), english);
    await writeFile(join(corpus, "de.json.gz"), await readFile(join(repositoryRoot, "fixtures/bactrian-x/de.json.gz")));
    await writeFile(join(corpus, "xx.json.gz"), english);
    await writeFile(join(corpus, "en-US.jsonl"), "");
    await writeFile(join(corpus, "README.md"), "not data\n");
    for (const args of [["inspect", corpus], ["compose", "--input", corpus, "--compositions", "EN,DE", "--out", join(directory, "o1"), "--quiet"], ["sample", "--input", corpus, "--n", "2", "--out", join(directory, "o2"), "--quiet"]]) {
      const run = await runCliAsync(args);
      expect(run.status, `${args[0]}: ${run.stderr}`).toBe(0);
      expect(run.stderr).toMatch(/warning: 2 file\(s\) skipped/);
      expect(run.stderr).toMatch(/en-US\.jsonl: "en-US" is a regional tag, not an ISO 639-1 code: rename the file to en\.jsonl/);
      expect(run.stderr).toMatch(/xx\.json\.gz: "xx" is not an ISO 639-1 language code/);
      expect(run.stderr).not.toMatch(/README/);
    }
    for (const out of ["o1", "o2"]) {
      const manifest = JSON.parse(await readFile(join(directory, out, "manifest.json"), "utf8")) as { skippedFiles: { path: string; reason: string }[]; inputs: { path: string }[] };
      expect(manifest.skippedFiles.map((file) => file.path.replace(/.*\//, ""))).toEqual(["en-US.jsonl", "xx.json.gz"]);
      expect(manifest.inputs.map((input) => input.path.replace(/.*\//, "")).sort()).toEqual(["EN.json.gz", "de.json.gz"]);
    }
  }, 120_000);

  it("an empty message and an odd-length LIMA conversation are errors in validate, inspect, compose, sample, translate and build", async () => {
    const directory = await makeTemporaryDirectory();
    const limaRows = (await readFile(join(repositoryRoot, "fixtures/lima/train.jsonl"), "utf8")).trimEnd().split("\n").slice(0, 3);
    const emptyMessage = join(directory, "empty-message.jsonl");
    const first = JSON.parse(limaRows[1]!) as { conversations: string[] };
    await writeFile(emptyMessage, [limaRows[0], JSON.stringify({ ...first, conversations: [first.conversations[0], " "] }), limaRows[2]].join("\n") + "\n");
    const odd = join(directory, "odd.jsonl");
    await writeFile(odd, [limaRows[0], JSON.stringify({ ...first, conversations: [...first.conversations, "and one more question?"] })].join("\n") + "\n");
    const canonical = join(directory, "canonical");
    await mkdir(canonical);
    await writeFile(join(canonical, "en.jsonl"), JSON.stringify({ id: "a", lang: "en", source: "s", messages: [{ role: "user", content: "" }, { role: "assistant", content: "x" }], meta: {} }) + "\n");
    const cases: [string, RegExp][] = [
      [emptyMessage, /empty-message\.jsonl:2 field "messages\.1\.content": empty message/],
      [odd, /odd\.jsonl:2 field "conversations": 3 turns: the last user turn has no answer/],
      [join(canonical, "en.jsonl"), /en\.jsonl:1 field "messages\.0\.content": empty message/],
    ];
    for (const [input, message] of cases) {
      const config = join(directory, "study.json");
      await writeFile(config, JSON.stringify({ languages: ["en", "de"], compositions: ["EN", "DE"], formats: ["jsonl"], corpora: { x: { translate: { input, from: "en", to: ["de"], provider: "cache", cache: join(directory, "cache.jsonl") } } } }));
      const commands = [
        ["validate", input],
        ["inspect", input],
        ["compose", "--input", input, "--compositions", "EN", "--out", join(directory, "c"), "--quiet"],
        ["sample", "--input", input, "--n", "1", "--out", join(directory, "s"), "--quiet"],
        ["translate", "--input", input, "--to", "de", "--provider", "cache", "--cache", join(directory, "cache.jsonl"), "--out", join(directory, "t"), "--quiet"],
        ["build", "--config", config, "--out", join(directory, "b"), "--quiet"],
      ];
      for (const args of commands) {
        const run = await runCliAsync(args);
        expect(run.status, `${args[0]} ${input}: ${run.stderr}`).toBe(1);
        expect(run.stdout + run.stderr, `${args[0]} ${input}`).toMatch(message);
        expect(run.stderr).not.toMatch(STACK);
      }
    }
  }, 120_000);
});

describe("invalid UTF-8 in an Arrow file is an error too (apache-arrow would decode it leniently)", () => {
  it("names the file, the item of a top-level column or the nested field, and the byte offset", async () => {
    const { writeArrow } = await import("../../src/io/arrow");
    const directory = await makeTemporaryDirectory();
    const records = ["first", "second"].map((id) => ({ id, lang: "en", source: "Zebrasource", messages: [{ role: "user" as const, content: `Hello ${id}` }, { role: "assistant" as const, content: `Quokkaanswer ${id}` }], meta: {} }));
    for (const [needle, expected] of [
      ["Zebrasource", /en\.arrow item 0 field "source": invalid UTF-8 at byte 4 of the value \(bytes ff/],
      ["Quokkaanswer second", /en\.arrow field "messages\.content": invalid UTF-8 at byte 4 of the value/],
    ] as const) {
      const path = join(directory, String(needle.length), "en.arrow");
      await mkdir(join(directory, String(needle.length)), { recursive: true });
      await writeArrow(path, records);
      const bytes = await readFile(path);
      const at = bytes.indexOf(needle);
      expect(at).toBeGreaterThan(0);
      bytes[at + 4] = 0xff;
      await writeFile(path, bytes);
      const run = await runCliAsync(["inspect", path]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(expected);
    }
  }, 60_000);
});

describe("invalid UTF-8 in a Parquet file is an error too (hyparquet would decode it leniently)", () => {
  it("names the file, the item, the field (nested ones with their index) and the byte offset", async () => {
    const python = requirePython(["pyarrow"]);
    const directory = await makeTemporaryDirectory();
    const flat = join(directory, "flat", "en.parquet");
    const nested = join(directory, "nested", "en.parquet");
    await mkdir(join(directory, "flat"));
    await mkdir(join(directory, "nested"));
    // pyarrow checks UTF-8 when it builds a string array from Python strings, not when it views
    // binary as string: that is how a bad file is written.
    runPython(
      python,
      [
        "import sys, pyarrow as pa, pyarrow.parquet as pq",
        "bad = lambda *values: pa.array(values, type=pa.binary()).view(pa.string())",
        "flat = pa.table({'id': ['alpaca-1', 'alpaca-2'], 'instruction': ['Say it.', 'Say it.'], 'input': ['', ''], 'output': bad(b'fine', b'Zebr\\xff\\xfe here')})",
        "pq.write_table(flat, sys.argv[1])",
        "message = pa.struct([('role', pa.string()), ('content', pa.string())])",
        "roles = pa.array(['user', 'assistant', 'user', 'assistant'])",
        "contents = bad(b'Hello', b'Hi', b'Hello', b'Quok\\xc3 answer')",
        "messages = pa.ListArray.from_arrays(pa.array([0, 2, 4], pa.int32()), pa.StructArray.from_arrays([roles, contents], fields=list(message)))",
        "nested = pa.table({'id': ['a', 'b'], 'lang': ['en', 'en'], 'source': ['s', 's'], 'messages': messages})",
        "pq.write_table(nested, sys.argv[2])",
      ].join("\n"),
      [flat, nested],
    );
    for (const [path, expected] of [
      [flat, /en\.parquet item 1 field "output": invalid UTF-8 at byte 4 of the value \(bytes ff fe/],
      [nested, /en\.parquet item 1 field "messages\.1\.content": invalid UTF-8 at byte 4 of the value \(bytes c3 20/],
    ] as const) {
      const run = await runCliAsync(["inspect", path]);
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr).not.toMatch(STACK);
    }
  }, 60_000);
});

describe("allowEmpty in a study config (the config's --allow-empty)", () => {
  it("top level or per corpus, it keeps an empty language file and an empty translation input; other corpora still fail", async () => {
    const { directory, corpus, empty } = await writeEmptyInputs();
    const files = { path: corpus, format: "bactrian-x" };
    const translated = { translate: { input: empty, from: "en", to: ["de"], provider: "cache", cache: join(repositoryRoot, "fixtures/translation-cache") } };
    const study = { languages: ["en", "de"], compositions: ["EN", "DE"], formats: ["jsonl"] };
    const cases: [string, object, number][] = [
      ["top", { ...study, allowEmpty: true, corpora: { b: files, t: translated } }, 0],
      ["each", { ...study, corpora: { b: { ...files, allowEmpty: true }, t: { ...translated, allowEmpty: true } } }, 0],
      ["one", { ...study, corpora: { b: { ...files, allowEmpty: true }, t: translated } }, 1],
      ["off", { ...study, allowEmpty: true, corpora: { b: { ...files, allowEmpty: false } } }, 1],
    ];
    for (const [name, config, status] of cases) {
      const path = join(directory, `${name}.json`);
      await writeFile(path, JSON.stringify(config));
      const out = join(directory, name);
      const run = await runCliAsync(["build", "--config", path, "--out", out, "--quiet"]);
      expect(run.status, `${name}: ${run.stderr}`).toBe(status);
      if (status === 0) {
        expect(await readFile(join(out, "b", "DE.jsonl"), "utf8")).toBe("");
        expect(await readFile(join(out, "t", "EN.jsonl"), "utf8")).toBe("");
      } else {
        expect(run.stderr).toMatch(name === "one" ? /empty\.jsonl: has no rows/ : /de\.json\.gz: has no rows/);
      }
    }
  }, 120_000);
});

describe("validate lists invalid UTF-8 as one problem among others and goes on (repro: it stopped at the first)", () => {
  it("JSON Lines and JSON arrays: the bad line or item is a problem, the rows after it and the other files are still checked", async () => {
    const directory = await makeTemporaryDirectory();
    const corpus = join(directory, "corpus");
    await mkdir(corpus);
    await writeFile(
      join(corpus, "en.jsonl"),
      Buffer.concat([Buffer.from(row("a", "fine") + "\n" + row("b", "Zebr").slice(0, -2)), Buffer.from([0xff]), Buffer.from(' here"}\n' + row("c", "") + "\n" + row("a", "again") + "\n")]),
    );
    await writeFile(join(corpus, "de.json"), Buffer.concat([Buffer.from(`[${row("a", "gut")},\n${row("b", "Zebr").slice(0, -2)}`), Buffer.from([0xc3, 0x28]), Buffer.from(`"},\n${row("b", "")}]\n`)]));
    const run = await runCliAsync(["validate", corpus]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).not.toMatch(STACK);
    const problems = run.stdout.trimEnd().split("\n");
    expect(problems).toEqual([
      expect.stringMatching(/de\.json item 1 field "output": invalid UTF-8 at byte \d+ of the item \(bytes c3 28/),
      expect.stringMatching(/de\.json item 2 field "messages\.1\.content": empty message/),
      expect.stringMatching(/en\.jsonl:2 field "output": invalid UTF-8 at byte \d+ of the line \(bytes ff/),
      expect.stringMatching(/en\.jsonl:3 field "messages\.1\.content": empty message/),
      expect.stringMatching(/en\.jsonl:4 field "id": duplicate id "a" in language en \(first at .*en\.jsonl:1\)/),
      expect.stringMatching(/^7 rows checked, 5 problems$/),
    ]);
  }, 60_000);
});

/** A Bactrian-X corpus whose `de` file is `[]`, and an empty JSONL file. */
async function writeEmptyInputs(): Promise<{ directory: string; corpus: string; empty: string }> {
  const directory = await makeTemporaryDirectory();
  const corpus = join(directory, "corpus");
  await mkdir(corpus);
  await writeFile(join(corpus, "en.json.gz"), await readFile(join(repositoryRoot, "fixtures/bactrian-x/en.json.gz")));
  await writeFile(join(corpus, "de.json.gz"), gzipSync("[]\n"));
  const empty = join(directory, "empty.jsonl");
  await writeFile(empty, "");
  return { directory, corpus, empty };
}
