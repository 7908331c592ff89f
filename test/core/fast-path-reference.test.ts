// The fast path (encode workers, byte-level Bactrian-X reader, encoded records, writer threads)
// against the plain path it replaces: readSource -> buildComposition -> writeJsonl / writeArrow,
// one JavaScript record at a time. Both must write the same bytes.
import { existsSync } from "node:fs";
import { copyFile, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildComposition,
  compareIds,
  findLanguageFiles,
  loadParallelCorpus,
  parseCompositionName,
  readSource,
  splitValidation,
  writeArrow,
  writeCompositions,
  writeJsonl,
  type CanonicalRecord,
  type SourceFormat,
  type WorkerScripts,
} from "../../src/index";
import { repositoryRoot } from "../support/run-cli";
import { sourceWorkerScripts } from "../support/source-worker-script";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const referenceData = join(repositoryRoot, "..", "shared", "reference-data");

interface Corpus {
  /** A directory with one file per language. */
  path: string;
  languages: string[];
  format?: SourceFormat;
  compositions: string[];
  seed: number;
  validationFraction: number;
}

/** The plain path: every row read and normalised as a record, kept in Maps, composed and written one record at a time. */
async function writePlain(corpus: Corpus, directory: string): Promise<void> {
  const files = await findLanguageFiles(corpus.path);
  const records = new Map<string, Map<string, CanonicalRecord>>();
  for (const lang of corpus.languages) {
    const byId = new Map<string, CanonicalRecord>();
    for await (const record of readSource({ path: files.get(lang)!, lang, ...(corpus.format ? { format: corpus.format } : {}) })) {
      if (!byId.has(record.id)) byId.set(record.id, record);
    }
    records.set(lang, byId);
  }
  const ids = [...records.get(corpus.languages[0]!)!.keys()].filter((id) => corpus.languages.every((lang) => records.get(lang)!.has(id))).sort(compareIds);
  const { train, validation } = splitValidation({ ids, fraction: corpus.validationFraction, seed: corpus.seed });
  for (const name of corpus.compositions) {
    for (const [split, suffix] of [[train, ""], [validation, ".validation"]] as const) {
      if (split.length === 0) continue;
      const rows = buildComposition({ composition: parseCompositionName(name), records, ids: split, seed: corpus.seed });
      await writeJsonl(join(directory, `${name}${suffix}.jsonl`), rows);
      await writeArrow(join(directory, `${name}${suffix}.arrow`), rows);
    }
  }
}

/** The fast path, as a study runs it. */
async function writeFast(corpus: Corpus, directory: string, workerScripts: WorkerScripts): Promise<void> {
  const loaded = await loadParallelCorpus({ path: corpus.path, languages: corpus.languages, ...(corpus.format ? { format: corpus.format } : {}), workerScripts });
  await writeCompositions({
    corpus: loaded,
    compositions: corpus.compositions,
    directory,
    formats: ["jsonl", "arrow"],
    seed: corpus.seed,
    validationFraction: corpus.validationFraction,
    workerScripts,
  });
}

async function expectSameFiles(actual: string, expected: string): Promise<void> {
  const names = (await readdir(expected)).sort();
  expect(names.length).toBeGreaterThan(0);
  expect((await readdir(actual)).sort()).toEqual(names);
  for (const name of names) {
    const bytes = await readFile(join(actual, name));
    expect(bytes.equals(await readFile(join(expected, name))), `${name} differs from the plain path's`).toBe(true);
  }
}

/** Writes the corpus by the plain path, and by the fast path on threads run from src/ and in this thread, and compares every file. */
async function expectFastPathMatchesPlain(corpus: Corpus): Promise<void> {
  const plain = await makeDirectory();
  await writePlain(corpus, plain);
  const threaded = await makeDirectory();
  await writeFast(corpus, threaded, sourceWorkerScripts);
  await expectSameFiles(threaded, plain);
  const oneThread = await makeDirectory();
  await writeFast(corpus, oneThread, () => undefined);
  await expectSameFiles(oneThread, plain);
}

describe("the fast path writes what the plain path writes, byte for byte", () => {
  it("on the Bactrian-X fixture (byte-level reader), every kind of composition, with a validation split", async () => {
    await expectFastPathMatchesPlain({
      path: join(repositoryRoot, "fixtures", "bactrian-x"),
      languages: ["en", "de", "fr", "it", "es"],
      format: "bactrian-x",
      compositions: ["EN", "DE", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled"],
      seed: 42,
      validationFraction: 0.05,
    });
  });

  it("on the LIMA fixture (general reader)", async () => {
    const path = await makeDirectory();
    await copyFile(join(repositoryRoot, "fixtures", "lima", "train.jsonl"), join(path, "en.jsonl"));
    await expectFastPathMatchesPlain({ path, languages: ["en"], format: "lima", compositions: ["EN"], seed: 7, validationFraction: 0 });
  });

  it.skipIf(!existsSync(referenceData))("on the real Bactrian-X and LIMA rows of ../shared/reference-data (skipped when it is absent)", async () => {
    for (const lang of ["en", "de", "fr", "ar", "id"]) {
      await expectFastPathMatchesPlain({
        path: join(referenceData, "bactrian-x"),
        languages: [lang],
        compositions: [lang.toUpperCase()],
        seed: 0,
        validationFraction: 0,
      });
    }
    const path = await makeDirectory();
    await copyFile(join(referenceData, "lima", "train_row0.jsonl"), join(path, "en.jsonl"));
    await expectFastPathMatchesPlain({ path, languages: ["en"], format: "lima", compositions: ["EN"], seed: 0, validationFraction: 0 });
  });
});
