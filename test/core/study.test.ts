import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStudyConfig, runStudy, type StudyManifest } from "../../src/index";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { sourceWorkerScripts } from "../support/source-worker-script";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const fixtures = join(repositoryRoot, "fixtures");

describe("study config", () => {
  it("reports every problem at once, with paths, and rejects unknown keys", () => {
    let error: unknown;
    try {
      parseStudyConfig({
        seed: "42",
        languages: ["en", "DE"],
        compositions: ["EN", "ENXX"],
        formats: ["jsonl", "csv"],
        corpora: {
          one: { path: "a", sampleOf: "two" },
          two: { sampleOf: "missing", n: 10 },
          three: { path: "b", n: 5, extra: true },
        },
        unknownKey: 1,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(["seed", "languages.1", "compositions.1", "formats.1", "corpora.one", "corpora.two.sampleOf", "corpora.three", ""]),
    );
    expect((error as ConfigError).message).toContain('unknown key "unknownKey"');
    expect((error as ConfigError).message).toContain('unknown key "extra"');
    expect((error as ConfigError).message).toContain('no corpus named "missing" in this study');
  });

  it("the bundled configs are valid: the fixture study and the real-data study with hf:// sources", async () => {
    const { readStudyConfig } = await import("../../src/index");
    const fixture = await readStudyConfig(join(fixtures, "study.json"));
    expect(Object.keys(fixture.config.corpora)).toEqual(["lima-x", "bactrian-x", "bactrian-x-small"]);
    const real = await readStudyConfig(join(fixtures, "study-hub.json"));
    expect(real.config.corpora["bactrian-x"]!.path).toBe("hf://datasets/MBZUAI/Bactrian-X/data/{en,de,fr,it,es}.json.gz");
    expect(real.config.corpora["bactrian-x-small"]).toMatchObject({ sampleOf: "bactrian-x", n: 1030 });
  });

  it("the CLI prints the config file and every problem, exit 1", async () => {
    const directory = await makeDirectory();
    const config = join(directory, "study.json");
    await writeFile(config, JSON.stringify({ corpora: { x: { path: "x", formt: "lima" } }, compositons: ["EN"] }));
    const result = runBuiltCli(["build", "--config", config, "--out", join(directory, "out")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`invalid configuration in ${config} (2 problems)`);
    expect(result.stderr).toContain('- (root): unknown key "compositons"');
    expect(result.stderr).toContain('- corpora.x: unknown key "formt"');
  });
});

describe("runStudy", () => {
  async function buildBactrianStudy(seed: number, extra: Record<string, unknown> = {}) {
    const out = await makeDirectory();
    const config = parseStudyConfig({
      seed,
      corpora: {
        "bactrian-x": { path: "bactrian-x", format: "bactrian-x" },
        "bactrian-x-small": { sampleOf: "bactrian-x", n: 40, stratifyBy: "origin", ...extra },
      },
    });
    // The reader and writer threads of the code under test, run from src/.
    const manifest = await runStudy({ config, baseDirectory: fixtures, outDir: out, workerScripts: sourceWorkerScripts });
    return { out, manifest };
  }

  it("writes <out>/<corpus>/<COMPOSITION> for every corpus, the card and the manifest last", async () => {
    const { out, manifest } = await buildBactrianStudy(42);
    expect(manifest.outputs).toHaveLength(2 * 9 * 2);
    const small = manifest.outputs.filter((output) => output.corpus === "bactrian-x-small" && output.format === "jsonl");
    expect(Object.fromEntries(small.map((output) => [output.composition, output.rows]))).toEqual({
      EN: 40, DE: 40, FR: 40, IT: 40, ES: 40, ENDEFRITES: 200, DEFRITES: 160, "ENDEFRITES-sampled": 40, "DEFRITES-sampled": 40,
    });
    // Bactrian-X-small is parallel: the same ids in every language, drawn from ids present in all five.
    const idsOf = async (composition: string) =>
      new Set((await readFile(join(out, "bactrian-x-small", `${composition}.jsonl`), "utf8")).trim().split("\n").map((line) => JSON.parse(line).id as string));
    expect(await idsOf("DE")).toEqual(await idsOf("IT"));
    expect(manifest.corpora["bactrian-x-small"]).toMatchObject({ kind: "sample", sample: { of: "bactrian-x", n: 40, population: 297, sampled: 40 } });
    expect(manifest.inputs.map((input) => input.path)).toEqual(["bactrian-x/en.json.gz", "bactrian-x/de.json.gz", "bactrian-x/fr.json.gz", "bactrian-x/it.json.gz", "bactrian-x/es.json.gz"]);
    const written = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as StudyManifest;
    expect(written).toEqual(JSON.parse(JSON.stringify(manifest)));
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain("- config_name: bactrian-x-small-DEFRITES\n  data_files:\n  - split: train\n    path: bactrian-x-small/DEFRITES.jsonl");
  });

  it("stratifies the sample by origin and sizes it by a character budget", async () => {
    const { manifest } = await buildBactrianStudy(1);
    const en = manifest.outputs.find((output) => output.corpus === "bactrian-x" && output.composition === "EN" && output.format === "jsonl")!;
    expect(en.rows).toBe(297);
    const { manifest: budgeted } = await buildBactrianStudy(1, { n: undefined, characterBudget: 20_000 });
    const sampled = budgeted.corpora["bactrian-x-small"]!.sample!.sampled;
    const characters = budgeted.outputs.find((output) => output.corpus === "bactrian-x-small" && output.composition === "ENDEFRITES" && output.format === "jsonl")!.charactersPerLanguage;
    const total = Object.values(characters).reduce((sum, value) => sum + value, 0);
    expect(total).toBeGreaterThanOrEqual(20_000);
    expect(sampled).toBeLessThan(297);
  });

  it("a rebuild into the same folder removes the files of compositions taken out of the config and keeps the user's own", async () => {
    const out = await makeDirectory();
    const build = (compositions: string[]) =>
      runStudy({
        config: parseStudyConfig({ seed: 3, compositions, corpora: { "bactrian-x": { path: "bactrian-x", format: "bactrian-x" } } }),
        baseDirectory: fixtures,
        outDir: out,
        workerScripts: sourceWorkerScripts,
      });
    const listFiles = async () => (await readdir(out, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => relative(out, join(entry.parentPath, entry.name))).sort();
    const first = await build(["EN", "DE", "DEFRITES"]);
    expect(first.trainerConfigs.map((config) => config.path)).toContain("axolotl/bactrian-x-DEFRITES.yaml");
    await writeFile(join(out, "notes.txt"), "mine\n");
    await mkdir(join(out, "bactrian-x", "mine"));
    await writeFile(join(out, "bactrian-x", "mine", "DE.jsonl"), "{}\n");
    await writeFile(join(out, "bactrian-x", "EN.csv"), "mine\n");

    const second = await build(["EN"]);
    const listed = [...second.outputs.map((output) => output.path), ...second.trainerConfigs.map((config) => config.path), ...second.intermediateFiles];
    expect(listed.sort()).toEqual(["axolotl/bactrian-x-EN.yaml", "bactrian-x/EN.arrow", "bactrian-x/EN.jsonl", "dataset_info.json"]);
    expect(await listFiles()).toEqual([...listed, "README.md", "bactrian-x/EN.csv", "bactrian-x/mine/DE.jsonl", "manifest.json", "notes.txt"].sort());
    expect(await readFile(join(out, "notes.txt"), "utf8")).toBe("mine\n");
  });

  it("a rebuild never removes anything outside the folder, whatever the old manifest lists", async () => {
    const root = await makeDirectory();
    const out = join(root, "study");
    await mkdir(out);
    await writeFile(join(root, "precious.txt"), "keep\n");
    await writeFile(join(out, "manifest.json"), JSON.stringify({ outputs: [{ path: "../precious.txt" }, { path: join(root, "precious.txt") }], trainerConfigs: [], intermediateFiles: ["README.md", "."] }));
    await runStudy({
      config: parseStudyConfig({ seed: 3, compositions: ["EN"], corpora: { "bactrian-x": { path: "bactrian-x", format: "bactrian-x" } } }),
      baseDirectory: fixtures,
      outDir: out,
      workerScripts: sourceWorkerScripts,
    });
    expect(await readFile(join(root, "precious.txt"), "utf8")).toBe("keep\n");
    expect(existsSync(join(out, "README.md"))).toBe(true);
  });

  it("checks its options before touching the output folder: an unknown or mistyped option is an error naming it", async () => {
    const out = join(await makeDirectory(), "never-created");
    const config = parseStudyConfig({ corpora: { "bactrian-x": { path: "bactrian-x", format: "bactrian-x" } } });
    await expect(runStudy({ config, baseDirectory: fixtures, outDir: out, sed: 7 } as Parameters<typeof runStudy>[0])).rejects.toThrow(/sed/);
    await expect(runStudy({ config, baseDirectory: fixtures, outDir: out, layout: "nested" } as unknown as Parameters<typeof runStudy>[0])).rejects.toThrow(/layout/);
    expect(existsSync(out)).toBe(false);
  });
});
