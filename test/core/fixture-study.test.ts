import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import type { StudyManifest } from "../../src/index";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

async function fileHashes(root: string, directory = root): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) Object.assign(hashes, await fileHashes(root, path));
    else hashes[relative(root, path)] = createHash("sha256").update(await readFile(path)).digest("hex");
  }
  return hashes;
}

describe("build-datasets build (the bundled fixture study)", () => {
  it("writes the study's 27 datasets offline, byte-identical on a rerun", async () => {
    const [first, second] = [await makeDirectory(), await makeDirectory()];
    const result = runBuiltCli(["build", "--out", first], { env: { DEEPL_AUTH_KEY: "", GOOGLE_TRANSLATE_API_KEY: "", OPENAI_API_KEY: "" } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("wrote 27 datasets (54 files) in 3 corpora");
    expect(result.stderr).toContain("seed 42");
    const manifest = JSON.parse(await readFile(join(first, "manifest.json"), "utf8")) as StudyManifest;
    const counts: Record<string, Record<string, number>> = {};
    for (const output of manifest.outputs.filter((entry) => entry.format === "jsonl")) {
      (counts[output.corpus!] ??= {})[output.composition] = output.rows;
    }
    const study = (n: number) => ({ EN: n, DE: n, FR: n, IT: n, ES: n, ENDEFRITES: 5 * n, DEFRITES: 4 * n, "ENDEFRITES-sampled": n, "DEFRITES-sampled": n });
    expect(counts).toEqual({ "lima-x": study(19), "bactrian-x": study(297), "bactrian-x-small": study(19) });
    expect(manifest.corpora["lima-x"]).toMatchObject({ kind: "translate", translation: { from: "en", to: ["de", "fr", "it", "es"] } });
    // Lima-X keeps every code block of the English source byte for byte.
    const english = (await readFile(join(first, "lima-x", "translated", "en.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const german = (await readFile(join(first, "lima-x", "translated", "de.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const fences = (text: string) => text.match(/```[\s\S]*?```/g) ?? [];
    english.forEach((record, index) => {
      record.messages.forEach((message: { content: string }, turn: number) => {
        expect(fences(german[index].messages[turn].content)).toEqual(fences(message.content));
      });
    });

    expect(runBuiltCli(["build", "--out", second, "--quiet"]).status).toBe(0);
    expect(await fileHashes(second)).toEqual(await fileHashes(first));
  });
});

describe("the dataset card", () => {
  // Hugging Face `datasets` is installed in the test venv (.venv) by scripts/test-trainer.mjs, part of npm test;
  // POLYGLOT_DATASETS_PYTHON points at another Python that has it.
  const python = process.env.POLYGLOT_DATASETS_PYTHON ?? join(repositoryRoot, ".venv", "bin", "python");

  it("lets datasets.load_dataset(out, '<corpus>-<COMPOSITION>') load each composition", async () => {
    expect(spawnSync(python, ["-c", "import datasets"]).status, `${python} cannot import datasets: run node scripts/test-trainer.mjs (npm test does)`).toBe(0);
    const out = await makeDirectory();
    expect(runBuiltCli(["build", "--out", out, "--quiet"]).status).toBe(0);
    const result = spawnSync(
      python,
      ["-c", "import sys, datasets\nfor name in sys.argv[2:]:\n    print(name, datasets.load_dataset(sys.argv[1], name)['train'].num_rows)", out, "lima-x-ENDEFRITES", "bactrian-x-small-DEFRITES-sampled"],
      { encoding: "utf8", env: { ...process.env, HF_DATASETS_OFFLINE: "1", HF_HUB_OFFLINE: "1" } },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("lima-x-ENDEFRITES 95");
    expect(result.stdout).toContain("bactrian-x-small-DEFRITES-sampled 19");
  });
});
