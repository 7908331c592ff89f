import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { TranslationCacheError } from "../../src/translate/translation-errors";
import { useTemporaryDirectories } from "../support/temporary-directory";

const entry = (source: string, translation: string) => ({ provider: "deepl", from: "en", to: "de", source, translation });

describe("openTranslationCache", () => {
  let directory: string;
  const temporaryDirectory = useTemporaryDirectories({ prefix: "translation-cache-" });
  beforeEach(async () => {
    directory = await temporaryDirectory();
  });

  it("persists entries across opens, keyed by provider, languages and text", async () => {
    const path = join(directory, "nested", "cache.jsonl");
    const cache = await openTranslationCache({ path });
    await cache.put([entry("Hello", "Hallo"), entry("World", "Welt")]);
    await cache.close();
    const reopened = await openTranslationCache({ path });
    expect(reopened.size).toBe(2);
    expect(reopened.get({ provider: "deepl", from: "en", to: "de", source: "Hello" })?.translation).toBe("Hallo");
    expect(reopened.get({ provider: "deepl:model=x", from: "en", to: "de", source: "Hello" })).toBeUndefined();
    expect(reopened.get({ provider: "deepl", from: "en", to: "fr", source: "Hello" })).toBeUndefined();
    expect(reopened.providerIds()).toEqual(["deepl"]);
    await reopened.close();
  });

  it("ignores a line torn by a kill and cuts it off before the next append, so appends continue cleanly", async () => {
    const path = join(directory, "cache.jsonl");
    const cache = await openTranslationCache({ path });
    await cache.put([entry("Hello", "Hallo")]);
    await cache.close();
    await appendFile(path, '{"provider":"deepl","from":"en","to":"de","source":"Wor');
    const reopened = await openTranslationCache({ path });
    expect(reopened.size).toBe(1);
    // Opening alone changes nothing on disk.
    expect(await readFile(path, "utf8")).toContain('"source":"Wor');
    await reopened.put([entry("World", "Welt")]);
    await reopened.close();
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line).source)).toEqual(["Hello", "World"]);
  });

  it("reports a damaged line in the middle with file and line", async () => {
    const path = join(directory, "cache.jsonl");
    await writeFile(path, `${JSON.stringify(entry("a", "b"))}\nnot json\n${JSON.stringify(entry("c", "d"))}\n`);
    const error = await openTranslationCache({ path }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TranslationCacheError);
    expect((error as Error).message).toContain(`${path}:2`);
  });

  it("uses translations.jsonl inside a directory and refuses writes when read-only", async () => {
    const folder = join(directory, "shipped");
    await mkdir(folder);
    await writeFile(join(folder, "translations.jsonl"), `${JSON.stringify(entry("a", "b"))}\n{"torn`);
    const cache = await openTranslationCache({ path: folder, readOnly: true });
    expect(cache.path).toBe(join(folder, "translations.jsonl"));
    expect(cache.size).toBe(1);
    await expect(cache.put([entry("x", "y")])).rejects.toThrow(/read-only/);
    // Read-only never repairs the file.
    expect(await readFile(cache.path, "utf8")).toContain('{"torn');
  });
});
