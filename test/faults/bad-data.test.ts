import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { firstInvalidUtf8Byte } from "../../src/io/strict-utf8";
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
      expect(run.stderr).toMatch(jsonl);
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
