import { stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DamagedJsonlError, openAppendOnlyJsonl, type AppendOnlyJsonl } from "../io/append-only-jsonl";
import { acquireExclusiveLock, type ReleaseLock } from "../io/exclusive-lock";
import { TranslationCacheError } from "./translation-errors";
import { parseOptions } from "../parse-options";

/** File name used when the cache path is a directory (e.g. `fixtures/translation-cache/`). */
export const CACHE_FILE_NAME = "translations.jsonl";

export const openTranslationCacheOptionsSchema = z.strictObject({
  /** A `.jsonl` file, or a directory that holds `translations.jsonl`. Created when missing. */
  path: z.string().min(1),
  /** Never write to (or repair) the file: for caches shipped read-only, such as the bundled fixture cache. */
  readOnly: z.boolean().optional(),
  /**
   * When another process writes to this cache: wait for it (default), then read what it cached,
   * so nothing is translated and billed twice; `false` fails at once. Read-only opens never lock.
   */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
});
export type OpenTranslationCacheOptions = z.input<typeof openTranslationCacheOptionsSchema>;

/** One cached translation. `source` and `translation` are neutral text (prose with placeholders). */
export interface TranslationCacheEntry {
  /** Provider identity including model and options, e.g. `deepl:model=quality_optimized`. */
  readonly provider: string;
  readonly from: string;
  readonly to: string;
  readonly source: string;
  readonly translation: string;
  /** `strict` when the segment had to be translated prose run by prose run to keep its placeholders. */
  readonly mode?: "strict";
}

/** A persistent, append-only translation cache shared by every command. */
export interface TranslationCache {
  /** The JSONL file. */
  readonly path: string;
  /** Number of distinct entries. */
  readonly size: number;
  /** The cached translation, or undefined. */
  get(key: { provider: string; from: string; to: string; source: string }): TranslationCacheEntry | undefined;
  /** Appends entries in one write (a kill can tear at most this last line, which the next open drops). */
  put(entries: readonly TranslationCacheEntry[]): Promise<void>;
  /** Provider identities present for a language pair (or overall). */
  providerIds(pair?: { from: string; to: string }): string[];
  /** Flushes and closes the file. The cache can still be read afterwards. */
  close(): Promise<void>;
}

const entrySchema = z.object({
  provider: z.string(),
  from: z.string(),
  to: z.string(),
  source: z.string(),
  translation: z.string(),
  mode: z.literal("strict").optional(),
});

function keyOf(entry: { provider: string; from: string; to: string; source: string }): string {
  return `${entry.provider}\u0000${entry.from}\u0000${entry.to}\u0000${entry.source}`;
}

async function resolveCacheFile(path: string): Promise<string> {
  if (path.endsWith("/")) return join(path, CACHE_FILE_NAME);
  try {
    if ((await stat(path)).isDirectory()) return join(path, CACHE_FILE_NAME);
  } catch {
    // Missing: a file path to create.
  }
  return path;
}

/**
 * Opens (or creates) a translation cache. A line torn by a kill at the end of the file is ignored
 * and cut off before the next append; any other unreadable line is an error naming the file and line
 * (the rule of `openAppendOnlyJsonl`). The cache stores provider identities, languages and texts only:
 * never keys or server URLs.
 */
export async function openTranslationCache(options: OpenTranslationCacheOptions): Promise<TranslationCache> {
  const parsed = parseOptions(openTranslationCacheOptionsSchema, options, "openTranslationCache");
  const path = await resolveCacheFile(parsed.path);
  const readOnly = parsed.readOnly ?? false;
  const entries = new Map<string, TranslationCacheEntry>();
  // One writer at a time; the file is read only once the lock is held, so a second run sees
  // everything the first one paid for.
  const release: ReleaseLock | undefined = readOnly
    ? undefined
    : await acquireExclusiveLock({
        path,
        what: `the translation cache ${path}`,
        ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
        ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
      });
  let file: AppendOnlyJsonl<TranslationCacheEntry>;
  try {
    file = await openAppendOnlyJsonl({ path, schema: entrySchema, what: "translation cache entry", readOnly });
  } catch (error) {
    await release?.();
    if (error instanceof DamagedJsonlError) throw new TranslationCacheError(error.message, { cause: error });
    throw error;
  }
  for (const entry of file.entries) entries.set(keyOf(entry), entry);

  return {
    path,
    get size() {
      return entries.size;
    },
    get(key) {
      return entries.get(keyOf(key));
    },
    put(newEntries) {
      const fresh = newEntries.filter((entry) => entries.get(keyOf(entry))?.translation !== entry.translation);
      // Nothing new: still wait for earlier appends, so `await put(...)` always means "on disk".
      if (fresh.length === 0) return file.append([]);
      if (readOnly) {
        return Promise.reject(new TranslationCacheError(`the translation cache ${path} was opened read-only`));
      }
      for (const entry of fresh) entries.set(keyOf(entry), entry);
      // Fields in a fixed order, `mode` only when set: the file is diffable and shipped as a fixture.
      return file.append(
        fresh.map((entry) => ({
          provider: entry.provider,
          from: entry.from,
          to: entry.to,
          source: entry.source,
          translation: entry.translation,
          ...(entry.mode ? { mode: entry.mode } : {}),
        })),
      );
    },
    providerIds(pair) {
      const ids = new Set<string>();
      for (const entry of entries.values()) {
        if (!pair || (entry.from === pair.from && entry.to === pair.to)) ids.add(entry.provider);
      }
      return [...ids].sort();
    },
    async close() {
      try {
        await file.close();
      } finally {
        await release?.();
      }
    },
  };
}
