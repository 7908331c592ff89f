import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createTranslationProvider } from "../../src/translate/create-translation-provider";
import { translateCorpus } from "../../src/translate/translate-corpus";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { codeSpans } from "./code-spans";

const ROOT = join(import.meta.dirname, "../..");
const temporaryDirectory = useTemporaryDirectories({ prefix: "fixture-cache-" });

it("the bundled fixture cache translates the LIMA fixture offline (else: node scripts/make-fixture-cache.mjs)", async () => {
  const directory = await temporaryDirectory();
  const recorded = JSON.parse(await readFile(join(ROOT, "fixtures/translation-cache/provider.json"), "utf8"));
  const cache = await openTranslationCache({ path: join(ROOT, "fixtures/translation-cache"), readOnly: true });
  const summary = await translateCorpus({
    input: join(ROOT, "fixtures/lima/train.jsonl"),
    from: "en",
    to: recorded.to,
    provider: createTranslationProvider({ provider: "cache" }),
    cache,
    outDir: directory,
  });
  for (const lang of recorded.to as string[]) {
    expect(summary.languages[lang]?.provider).toBe(recorded.provider);
    expect(summary.languages[lang]?.billedCharacters).toBe(0);
  }
  const english = (await readFile(join(directory, "en.jsonl"), "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line));
  const german = (await readFile(join(directory, "de.jsonl"), "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line));
  expect(german).toHaveLength(english.length);
  english.forEach((record, index) => {
    record.messages.forEach((message: { content: string }, turn: number) => {
      expect(codeSpans(german[index].messages[turn].content)).toEqual(codeSpans(message.content));
    });
  });
  expect(german[0].messages[0].content).not.toBe(english[0].messages[0].content);
});
