import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { downloadFile, fileDownloadInfo, type FileDownloadInfoOutput } from "@huggingface/hub";
import { z } from "zod";
import { acquireExclusiveLock } from "../io/exclusive-lock";
import { classifyHubFailure, type FailureContext } from "./classify-hub-failure";
import { HubIntegrityError, HubNotFoundError, describeRepo, formatRepoDesignation } from "./errors";
import type { CacheVerification, HubCache, HubCacheEntry } from "./hub-cache";
import type { HubProgressCallback } from "./hub-progress";
import { createObservedFetch } from "./observe-fetch";
import { parseOptions } from "../parse-options";
import { hubRenamedOptions } from "./hub-credentials";

/** What the hub's `paths-info` announced for a file, checked after the download. */
export interface ExpectedFile {
  size: number;
  /** sha256 of the content (LFS and xet files). */
  sha256?: string;
  /** Git blob sha1 (regular files stored in git). */
  gitBlobSha1?: string;
}

export const downloadHubFileOptionsSchema = z.strictObject({
  repo: z.strictObject({ type: z.enum(["dataset", "model", "space"]), name: z.string() }),
  /** Path inside the repository. */
  path: z.string().min(1),
  /** The commit sha to download at (resolve branches first, so every file of a run comes from one commit). */
  commit: z.string().regex(/^[0-9a-f]{40}$/, "a 40-character commit sha"),
  /** The branch or tag the commit was resolved from, for messages only. */
  requestedRevision: z.string().optional(),
  /** Sizes and checksums from `paths-info`, checked on top of the ETag. */
  expected: z.custom<ExpectedFile>().optional(),
  /** Hugging Face token (`hf_...`); never written anywhere. */
  token: z.string().optional(),
  /** Hub endpoint, e.g. https://huggingface.co. */
  baseUrl: z.string().url(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
  hubUrl: z.string().url().optional(),
  /** The cache the file lands in. */
  cache: z.custom<HubCache>((value) => typeof value === "object" && value !== null && "lookup" in value),
  /** How much to re-check a cached copy before reusing it (default: its sha256). */
  verify: z.enum(["sha256", "size"]).default("sha256"),
  /** `fetch` to use (tests, proxies); defaults to the global one. */
  fetch: z.custom<typeof fetch>((value) => typeof value === "function").optional(),
  onProgress: z.custom<HubProgressCallback>((value) => typeof value === "function").optional(),
  /** When another process downloads the same file into the same cache: wait for it (default) and reuse its copy, or fail at once. */
  wait: z.boolean().optional(),
  /** Told once when this call starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
});

type DownloadHubFileInput = z.input<typeof downloadHubFileOptionsSchema>;
/** `baseUrl` is required; `hubUrl`, its deprecated name, may stand in for it. */
export type DownloadHubFileOptions =
  | DownloadHubFileInput
  | (Omit<DownloadHubFileInput, "baseUrl" | "hubUrl"> & { /** @deprecated use `baseUrl` */ hubUrl: string; baseUrl?: undefined });

/** A file available locally after `downloadHubFile`. */
export interface DownloadedHubFile {
  /** Absolute path of the verified file in the cache. */
  file: string;
  entry: HubCacheEntry;
  /** False when the cache already had it (no download request was made). */
  downloaded: boolean;
  /** Bytes that were already on disk from an interrupted run and were not fetched again. */
  resumedFrom: number;
}

/**
 * Downloads one file of a hub repository at a fixed commit into the cache, streaming to disk.
 *
 * - A complete, verified cached copy is returned without any request.
 * - Bytes go to `<file>.incomplete`, renamed into place only after the size and checksum match
 *   (sha256 for LFS/xet files, the git blob sha1 for regular ones); the cache entry is written last.
 * - After an interruption the `.incomplete` file is kept and the next call resumes it with an HTTP
 *   range request; if the server ignores the range, it restarts cleanly from byte 0.
 *
 * @example
 * const { file } = await downloadHubFile({ repo: { type: "dataset", name: "GAIR/lima" }, path: "train.jsonl",
 *   commit, baseUrl: "https://huggingface.co", cache: createHubCache(resolveHubCacheDir()), token });
 */
export async function downloadHubFile(options: DownloadHubFileOptions): Promise<DownloadedHubFile> {
  const parsed = parseOptions(downloadHubFileOptionsSchema, options, "downloadHubFile", hubRenamedOptions);
  // One downloader per cache entry: a second process waits, then finds the verified copy.
  const release = await acquireExclusiveLock({
    path: parsed.cache.filePath(parsed.repo, parsed.commit, parsed.path),
    what: `the hub cache entry for ${parsed.path} of ${describeRepo(parsed.repo)}`,
    ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
    ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
  });
  try {
    return await downloadLocked(parsed);
  } finally {
    await release();
  }
}

async function downloadLocked(parsed: z.output<typeof downloadHubFileOptionsSchema>): Promise<DownloadedHubFile> {
  const { repo, path, commit, requestedRevision, expected, token, baseUrl: hubUrl, cache, verify, fetch: baseFetch, onProgress } = parsed;
  const designation = formatRepoDesignation(repo);

  const cached = await cache.lookup(repo, commit, path, verify as CacheVerification);
  if (cached.status === "hit") {
    onProgress?.({ type: "cached", repo: designation, path, bytes: cached.entry.size });
    return { file: cached.file, entry: cached.entry, downloaded: false, resumedFrom: 0 };
  }
  if (cached.status === "corrupt") await cache.remove(repo, commit, path);

  const observed = createObservedFetch(baseFetch, { identityEncoding: true });
  const context: FailureContext = {
    repo,
    hubUrl,
    path,
    revision: requestedRevision ?? commit,
    commit,
    action: `downloading ${path} from ${describeRepo(repo)}`,
    tokenSent: Boolean(token),
    observed,
  };

  let info: FileDownloadInfoOutput | null;
  try {
    info = await fileDownloadInfo({ repo: designation, path, revision: commit, hubUrl, fetch: observed.fetch, accessToken: token });
  } catch (error) {
    throw classifyHubFailure(error, context);
  }
  if (!info) throw new HubNotFoundError({ ...context, missing: "file" });
  const totalBytes = info.size;
  if (expected && expected.size !== totalBytes) {
    throw new HubIntegrityError({ repo, path, problem: `the hub announced ${expected.size} bytes in paths-info but serves ${totalBytes}` });
  }

  const incomplete = cache.incompletePath(repo, commit, path);
  let start = await sizeOf(incomplete);
  if (start > totalBytes) {
    await rm(incomplete, { force: true });
    start = 0;
  }
  const checksums = createChecksums(totalBytes);
  if (start > 0) {
    for await (const chunk of createReadStream(incomplete, { end: start - 1 })) checksums.update(chunk as Buffer);
  }

  let written = start;
  if (start < totalBytes || totalBytes === 0) {
    await mkdir(dirname(incomplete), { recursive: true });
    const handle = await open(incomplete, start > 0 ? "a" : "w");
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const blob = await downloadFile({
        repo: designation,
        path,
        revision: commit,
        hubUrl,
        fetch: observed.fetch,
        accessToken: token,
        downloadInfo: info,
        // Plain HTTP (the hub redirects xet-backed files to a CDN that serves ranges too): one code path
        // for every file, resumable with a single range request, and the one our tests exercise.
        xet: false,
      });
      if (!blob) throw new HubNotFoundError({ ...context, missing: "file" });
      reader = (start > 0 ? blob.slice(start) : blob).stream().getReader();
      let first = true;
      for (;;) {
        const { done, value } = await reader.read();
        if (first && start > 0 && observed.lastRangeStatus() === 200) {
          // The server ignored `Range` and sends the whole file: restart cleanly from byte 0.
          await handle.truncate(0);
          checksums.reset();
          written = 0;
          start = 0;
        }
        first = false;
        if (done) break;
        await handle.write(value);
        checksums.update(value);
        written += value.length;
        onProgress?.({ type: "download", repo: designation, path, bytes: written, totalBytes, resumedFrom: start });
      }
      await handle.close();
    } catch (error) {
      await reader?.cancel().catch(() => undefined);
      await handle.close().catch(() => undefined);
      const kept = written > 0 ? { file: incomplete, bytes: written, totalBytes } : undefined;
      if (!kept) await rm(incomplete, { force: true });
      throw classifyHubFailure(error, { ...context, kept });
    }
  }

  const sums = checksums.digest();
  const etag = normalizeEtag(info.etag);
  const problem = findMismatch({ written, totalBytes, sums, expected, etag });
  if (problem) {
    await rm(incomplete, { force: true });
    throw new HubIntegrityError({ repo, path, problem });
  }

  const file = cache.filePath(repo, commit, path);
  await rename(incomplete, file);
  const entry: HubCacheEntry = { repo: designation, revision: commit, path, size: totalBytes, etag, sha256: sums.sha256 };
  await cache.writeEntry(repo, entry);
  onProgress?.({ type: "downloaded", repo: designation, path, bytes: totalBytes, sha256: sums.sha256 });
  return { file, entry, downloaded: true, resumedFrom: start };
}

/** `W/"abc"` -> `abc`. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

function findMismatch(input: {
  written: number;
  totalBytes: number;
  sums: { sha256: string; gitBlobSha1: string };
  expected?: ExpectedFile;
  etag: string;
}): string | undefined {
  const { written, totalBytes, sums, expected, etag } = input;
  if (written !== totalBytes) return `received ${written} bytes, expected ${totalBytes}`;
  const sha256 = expected?.sha256 ?? (/^[0-9a-f]{64}$/.test(etag) ? etag : undefined);
  if (sha256 && sums.sha256 !== sha256) return `sha256 is ${sums.sha256}, the hub announced ${sha256}`;
  // A 40-hex ETag on a regular file is its git blob sha1 (the hub's convention for non-LFS files).
  const gitBlobSha1 = expected?.gitBlobSha1 ?? (!sha256 && /^[0-9a-f]{40}$/.test(etag) ? etag : undefined);
  if (gitBlobSha1 && sums.gitBlobSha1 !== gitBlobSha1) return `git blob sha1 is ${sums.gitBlobSha1}, the hub announced ${gitBlobSha1}`;
  return undefined;
}

/** sha256 of the content and the git blob sha1 (`sha1("blob <size>\0" + content)`), in one pass. */
function createChecksums(size: number) {
  let sha256: Hash;
  let gitSha1: Hash;
  const reset = () => {
    sha256 = createHash("sha256");
    gitSha1 = createHash("sha1").update(`blob ${size}\0`);
  };
  reset();
  return {
    reset,
    update(chunk: Uint8Array) {
      sha256.update(chunk);
      gitSha1.update(chunk);
    },
    digest: () => ({ sha256: sha256.digest("hex"), gitBlobSha1: gitSha1.digest("hex") }),
  };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
