import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();
const STACK = /\n\s+at /;

describe("bad input gets a clear message, never a stack trace", () => {
  it("a truncated or non-gzip .json.gz names the file, in inspect and in build", async () => {
    const directory = await makeTemporaryDirectory();
    const corpus = join(directory, "corpus");
    await mkdir(corpus);
    for (const lang of ["en", "de"]) {
      const bytes = await readFile(join(repositoryRoot, "fixtures/bactrian-x", `${lang}.json.gz`));
      await writeFile(join(corpus, `${lang}.json.gz`), lang === "de" ? bytes.subarray(0, Math.floor(bytes.length / 2)) : bytes);
    }
    await writeFile(join(directory, "plain.json.gz"), "not gzip at all");
    const truncated = await runCliAsync(["inspect", join(corpus, "de.json.gz")]);
    expect(truncated.status).toBe(1);
    expect(truncated.stderr).toMatch(/de\.json\.gz: is truncated/);
    expect(truncated.stderr).not.toMatch(STACK);
    const notGzip = await runCliAsync(["inspect", join(directory, "plain.json.gz")]);
    expect(notGzip.stderr).toMatch(/plain\.json\.gz: is not valid gzip data/);
    const config = join(directory, "study.json");
    await writeFile(config, JSON.stringify({ languages: ["en", "de"], compositions: ["EN", "DE"], formats: ["jsonl"], corpora: { b: { path: corpus, format: "bactrian-x" } } }));
    const build = await runCliAsync(["build", "--config", config, "--out", join(directory, "out"), "--quiet"]);
    expect(build.status).toBe(1);
    expect(build.stderr).toMatch(/de\.json\.gz: is truncated/);
    expect(build.stderr).not.toMatch(STACK);
  }, 60_000);

  it("a missing path and an out-of-range seed are one-line messages; --debug shows the trace", async () => {
    const missing = await runCliAsync(["inspect", "/nonexistent/input.jsonl"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no such file or folder \(\/nonexistent\/input\.jsonl\)/);
    expect(missing.stderr).not.toMatch(STACK);
    const debug = await runCliAsync(["inspect", "/nonexistent/input.jsonl", "--debug"]);
    expect(debug.stderr).toMatch(STACK);
    const seed = await runCliAsync(["build", "--seed", "99999999999999999999"]);
    expect(seed.status).toBe(2);
    expect(seed.stderr).toMatch(/--seed.*expected an integer between/);
    expect(seed.stderr).not.toMatch(/"code"|\[\s*\{/);
  }, 60_000);
});

describe("a composition listed twice is a usage error naming it (repro: no such file .incomplete-build-.../EN.jsonl)", () => {
  it("compose --compositions EN,EN is a one-line usage error; a study config listing one twice is a ConfigError with the path", async () => {
    const directory = await makeTemporaryDirectory();
    const corpus = join(directory, "corpus");
    await mkdir(corpus);
    for (const lang of ["en", "de"]) await writeFile(join(corpus, `${lang}.json.gz`), await readFile(join(repositoryRoot, "fixtures/bactrian-x", `${lang}.json.gz`)));
    const compose = await runCliAsync(["compose", "--input", corpus, "--compositions", "EN,DE,EN", "--out", join(directory, "o1"), "--quiet"]);
    expect(compose.status).toBe(2);
    expect(compose.stderr).toMatch(/--compositions.*"EN" is listed twice/);
    expect(compose.stderr).not.toMatch(/incomplete-build|no such file/);
    expect(compose.stderr).not.toMatch(STACK);
    expect(compose.stderr.trim().split("\n")[0]).toMatch(/listed twice$/);

    const { parseStudyConfig, ConfigError } = await import("../../src/index");
    for (const [config, path] of [
      [{ compositions: ["EN", "DE", "DE"], corpora: { b: { path: corpus, format: "bactrian-x" } } }, "compositions.2"],
      [{ corpora: { b: { path: corpus, format: "bactrian-x", compositions: ["EN", "EN"] } } }, "corpora.b.compositions.1"],
    ] as const) {
      let error: unknown;
      try {
        parseStudyConfig(config);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as InstanceType<typeof ConfigError>).issues).toEqual([{ path, message: expect.stringMatching(/is listed twice/) }]);
    }
    const file = join(directory, "study.json");
    await writeFile(file, JSON.stringify({ languages: ["en", "de"], compositions: ["EN", "EN"], formats: ["jsonl"], corpora: { b: { path: corpus, format: "bactrian-x" } } }));
    const build = await runCliAsync(["build", "--config", file, "--out", join(directory, "o2"), "--quiet"]);
    expect(build.status).toBe(1);
    expect(build.stderr).toMatch(/compositions\.1: "EN" is listed twice/);
    expect(build.stderr).not.toMatch(STACK);
  }, 60_000);
});
