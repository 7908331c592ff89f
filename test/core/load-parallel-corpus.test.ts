import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadParallelCorpus } from "../../src/index";
import { repositoryRoot } from "../support/run-cli";
import { sourceWorkerScripts } from "../support/source-worker-script";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

const row = (id: string, output: string) => ({ instruction: `Frage ${id}`, input: "", id, output });

describe("loadParallelCorpus", () => {
  it("keeps the first record of an id given twice, counts it once, and reports the repeats per language", async () => {
    const directory = await makeDirectory();
    await writeFile(join(directory, "en.json"), JSON.stringify([row("alpaca-1", "one"), row("alpaca-2", "two"), row("alpaca-3", "three")]));
    await writeFile(
      join(directory, "de.json"),
      JSON.stringify([row("alpaca-1", "eins"), row("alpaca-2", "zwei"), row("alpaca-1", "noch einmal eins"), row("alpaca-2", "noch einmal zwei"), row("alpaca-1", "dritte")]),
    );
    const corpus = await loadParallelCorpus({ path: directory, languages: ["en", "de"] });
    expect(corpus.commonIds).toEqual(["alpaca-1", "alpaca-2"]);
    expect(corpus.records.get("de")!.size).toBe(2);
    expect(corpus.records.get("de")!.get("alpaca-1")!.messages[1]!.content).toBe("eins");
    expect(corpus.alignment).toMatchObject({ totalIds: 3, commonIds: 2, missingByLanguage: { de: 1 }, duplicatesByLanguage: { de: 3 } });
    expect(corpus.inputs.map((input) => [input.lang, input.rows])).toEqual([["en", 3], ["de", 5]]);
  });

  it("reads the languages on reader threads run from src/, giving the corpus one thread gives", async () => {
    const path = join(repositoryRoot, "fixtures", "bactrian-x");
    const languages = ["en", "de", "fr", "it", "es"];
    const threaded = await loadParallelCorpus({ path, languages, workerScripts: sourceWorkerScripts });
    const here = await loadParallelCorpus({ path, languages, workerScripts: () => undefined });
    expect(threaded.commonIds).toEqual(here.commonIds);
    expect(threaded.commonIds.length).toBe(297);
    expect(threaded.inputs).toEqual(here.inputs);
    expect(threaded.alignment).toEqual(here.alignment);
    for (const lang of languages) expect([...threaded.records.get(lang)!.entries()]).toEqual([...here.records.get(lang)!.entries()]);
    // The threads above did run: a reader script that cannot start fails the load.
    await expect(loadParallelCorpus({ path, languages, workerScripts: () => ({ path: join(path, "no-such-worker.mjs") }) })).rejects.toThrow(/no-such-worker|Cannot find/);
  });
});
