import { readFile, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { cacheRoot } from "../cache-directory";
import { writeFileAtomic } from "../io/atomic-write";
import { sha256File } from "../io/hash-file";
import type { HubRepo } from "./errors";
import { parseOptions } from "../parse-options";
import { environmentSchema } from "./hub-credentials";

export const hubCacheDirOptionsSchema = z.strictObject({
  /** Explicit cache directory; wins over the environment. */
  cacheDir: z.string().min(1).optional(),
  /** Environment to read `POLYGLOT_CACHE_DIR` and `XDG_CACHE_HOME` from; defaults to `process.env`. */
  env: environmentSchema.optional(),
  /** Home directory for the `~/.cache` default; defaults to `os.homedir()`. */
  homeDir: z.string().optional(),
});

export type HubCacheDirOptions = z.input<typeof hubCacheDirOptionsSchema>;

/**
 * Where hub downloads are cached: `cacheDir`, else `$POLYGLOT_CACHE_DIR/hub`, else
 * `$XDG_CACHE_HOME/polyglot-instruct/hub`, else `~/.cache/polyglot-instruct/hub`.
 */
export function resolveHubCacheDir(options: HubCacheDirOptions = {}): string {
  const { cacheDir, env = process.env, homeDir } = parseOptions(hubCacheDirOptionsSchema, options, "resolveHubCacheDir");
  if (cacheDir) return resolve(cacheDir);
  return join(cacheRoot(env, homeDir ?? homedir()), "hub");
}

/** What the cache knows about one downloaded file; written after the file itself, so its presence means complete. */
export const hubCacheEntrySchema = z.strictObject({
  /** `datasets/GAIR/lima`. */
  repo: z.string(),
  /** The commit sha the file was downloaded at. */
  revision: z.string(),
  path: z.string(),
  size: z.number().int().nonnegative(),
  /** The ETag the hub served (quotes and `W/` removed). */
  etag: z.string(),
  /** sha256 of the bytes on disk. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export type HubCacheEntry = z.infer<typeof hubCacheEntrySchema>;

/** How much to re-check a cached file before reusing it. */
export type CacheVerification = "sha256" | "size";

/** Result of looking a file up: usable, absent, or present but failing verification. */
export type CacheLookup =
  | { status: "hit"; entry: HubCacheEntry; file: string }
  | { status: "miss" }
  | { status: "corrupt"; problem: string };

/** The on-disk cache of hub files, keyed by repository, commit and path. */
export interface HubCache {
  readonly root: string;
  /** `<root>/datasets--GAIR--lima/snapshots/<sha>/<path>`: where a complete file lives. */
  filePath(repo: HubRepo, commit: string, path: string): string;
  /** The file being downloaded, kept after an interruption so the next run resumes it. */
  incompletePath(repo: HubRepo, commit: string, path: string): string;
  /** The commit a branch or tag resolved to at the last successful download. */
  readRef(repo: HubRepo, revision: string): Promise<string | undefined>;
  writeRef(repo: HubRepo, revision: string, commit: string): Promise<void>;
  readEntry(repo: HubRepo, commit: string, path: string): Promise<HubCacheEntry | undefined>;
  /** Checks that the cached file exists and matches its entry (size, and sha256 unless `verify: "size"`). */
  lookup(repo: HubRepo, commit: string, path: string, verify?: CacheVerification): Promise<CacheLookup>;
  /** Records a complete download; call after the file is renamed into place. */
  writeEntry(repo: HubRepo, entry: HubCacheEntry): Promise<void>;
  /** Deletes a cached file and its entry (used when verification fails). */
  remove(repo: HubRepo, commit: string, path: string): Promise<void>;
}

/**
 * Opens (lazily: nothing is created until a download completes) the hub cache at `root`.
 * Layout, close to `huggingface_hub`'s: `<type>s--<owner>--<name>/{refs,snapshots,entries}`.
 *
 * @example
 * const cache = createHubCache(resolveHubCacheDir());
 * const hit = await cache.lookup({ type: "dataset", name: "GAIR/lima" }, sha, "train.jsonl");
 */
export function createHubCache(root: string): HubCache {
  const repoDir = (repo: HubRepo) => join(root, `${repo.type}s--${repo.name.replace("/", "--")}`);
  const safePath = (path: string) => {
    const parts = path.split("/");
    if (parts.some((part) => part === "" || part === "." || part === "..")) {
      throw new Error(`unsafe path in hub cache: ${JSON.stringify(path)}`);
    }
    return join(...parts);
  };
  const safeCommit = (commit: string) => {
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`not a commit sha: ${JSON.stringify(commit)}`);
    return commit;
  };
  const filePath = (repo: HubRepo, commit: string, path: string) =>
    join(repoDir(repo), "snapshots", safeCommit(commit), safePath(path));
  const entryPath = (repo: HubRepo, commit: string, path: string) =>
    join(repoDir(repo), "entries", safeCommit(commit), `${safePath(path)}.json`);
  const refPath = (repo: HubRepo, revision: string) => join(repoDir(repo), "refs", encodeURIComponent(revision));

  const readEntry = async (repo: HubRepo, commit: string, path: string) => {
    let text: string;
    try {
      text = await readFile(entryPath(repo, commit, path), "utf8");
    } catch {
      return undefined;
    }
    try {
      return hubCacheEntrySchema.parse(JSON.parse(text));
    } catch {
      return undefined;
    }
  };

  return {
    root,
    filePath,
    incompletePath: (repo, commit, path) => `${filePath(repo, commit, path)}.incomplete`,
    async readRef(repo, revision) {
      try {
        const commit = (await readFile(refPath(repo, revision), "utf8")).trim();
        return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
      } catch {
        return undefined;
      }
    },
    async writeRef(repo, revision, commit) {
      await writeFileAtomic(refPath(repo, revision), safeCommit(commit));
    },
    readEntry,
    async lookup(repo, commit, path, verify = "sha256") {
      const entry = await readEntry(repo, commit, path);
      if (!entry) return { status: "miss" };
      const file = filePath(repo, commit, path);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        return { status: "corrupt", problem: "the cached file is missing" };
      }
      if (size !== entry.size) return { status: "corrupt", problem: `the cached file has ${size} bytes, expected ${entry.size}` };
      if (verify === "sha256") {
        const sha256 = await sha256File(file);
        if (sha256 !== entry.sha256) return { status: "corrupt", problem: `the cached file's sha256 is ${sha256}, expected ${entry.sha256}` };
      }
      return { status: "hit", entry, file };
    },
    async writeEntry(repo, entry) {
      const parsed = hubCacheEntrySchema.parse(entry);
      await writeFileAtomic(entryPath(repo, parsed.revision, parsed.path), `${JSON.stringify(parsed, null, 2)}\n`);
    },
    async remove(repo, commit, path) {
      await rm(entryPath(repo, commit, path), { force: true });
      await rm(filePath(repo, commit, path), { force: true });
    },
  };
}
