import { datasetInfo, modelInfo, pathsInfo, spaceInfo } from "@huggingface/hub";
import { z } from "zod";
import { UsageError } from "../errors";
import { callWithRetry } from "../remote/call-with-retry";
import { classifyHubFailure, isNetworkFailure } from "./classify-hub-failure";
import { downloadHubFile, type ExpectedFile } from "./download-file";
import { HubApiCallError, HubError, HubNotFoundError, describeRepo, formatRepoDesignation, type HubRepo } from "./errors";
import { findHubToken, hubConnectionOptionsShape, hubRenamedOptions, resolveHubUrl } from "./hub-credentials";
import { createHubCache, resolveHubCacheDir, type HubCache } from "./hub-cache";
import type { HubProgressCallback } from "./hub-progress";
import { createObservedFetch } from "./observe-fetch";
import { isHubUri, parseHubUri } from "./parse-hub-uri";
import { parseOptions } from "../parse-options";

export const resolveSourceOptionsSchema = z.strictObject({
  /** A local path (returned unchanged) or an `hf://` URI, braces allowed: `hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz`. */
  uri: z.string().min(1),
  ...hubConnectionOptionsShape,
  /** Cache directory; defaults to `$POLYGLOT_CACHE_DIR/hub` or `~/.cache/polyglot-instruct/hub`. */
  cacheDir: z.string().min(1).optional(),
  /** Revision to use when the URI pins none (an `@revision` in the URI wins). */
  revision: z.string().min(1).optional(),
  /** Re-check cached files by sha256 (default) or by size only. */
  verify: z.enum(["sha256", "size"]).default("sha256"),
  /** Extra attempts per file after a retryable failure (dropped connection, 5xx, bad checksum); a dropped download resumes. */
  retries: z.number().int().min(0).max(10).default(2),
  /** Wait before the first retry, doubled each time (milliseconds). */
  retryDelayMs: z.number().int().min(0).default(1000),
  /** Use only the cache, no network (default: true when `HF_HUB_OFFLINE=1`). */
  offline: z.boolean().optional(),
});

export type ResolveSourceOptions = z.input<typeof resolveSourceOptionsSchema>;

/** One hub file behind a resolved source. */
export interface ResolvedHubFile {
  /** `hf://` URI of this file, braces expanded. */
  uri: string;
  /** Path inside the repository. */
  pathInRepo: string;
  /** Local path of the verified copy in the cache. */
  path: string;
  size: number;
  sha256: string;
  etag: string;
  /** False when it came from the cache. */
  downloaded: boolean;
}

/** A source made local: what the study runner reads, and what its manifest records. */
export interface ResolvedSource {
  /** Local files to read, in the order the URI lists them (a local path: itself, unchanged). */
  paths: string[];
  /** Commit sha every hub file was taken at; absent for local paths. */
  revision?: string;
  /** `datasets/GAIR/lima`; absent for local paths. */
  repo?: string;
  /** The branch, tag or sha the user asked for (`HEAD` when none). */
  requestedRevision?: string;
  /** Per-file detail for hub sources. */
  files?: ResolvedHubFile[];
}

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/**
 * Makes an input local. Local paths pass through unchanged; `hf://` URIs are resolved to a commit
 * sha, downloaded into the cache (or found there, verified, with no download) and returned as
 * local paths plus the commit, which the study manifest records so the build can be repeated on
 * exactly the same data.
 *
 * @example
 * const { paths, revision } = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz" });
 * // paths: [".../snapshots/<sha>/data/en.json.gz", ".../data/de.json.gz"], revision: "<sha>"
 */
export async function resolveSource(options: ResolveSourceOptions): Promise<ResolvedSource> {
  const parsed = parseOptions(resolveSourceOptionsSchema, options, "resolveSource", hubRenamedOptions);
  const { uri, verify, onProgress, fetch: baseFetch, env = process.env, homeDir } = parsed;
  if (!isHubUri(uri)) return { paths: [uri] };

  const references = parseHubUri(uri);
  const first = references[0];
  if (!first) throw new UsageError(`"${uri}" names no file`);
  const repo = first.repo;
  const designation = formatRepoDesignation(repo);
  const requestedRevision = first.revision ?? parsed.revision;
  const token = parsed.token ?? findHubToken({ env, homeDir })?.token;
  checkTokenShape(token, parsed.token !== undefined);
  const hubUrl = resolveHubUrl(parsed.baseUrl, { env });
  const cache = createHubCache(resolveHubCacheDir({ cacheDir: parsed.cacheDir, env, homeDir }));
  const offline = parsed.offline ?? env.HF_HUB_OFFLINE === "1";

  const commit = await resolveCommit({ repo, requestedRevision, token, hubUrl, cache, offline, fetch: baseFetch, onProgress });

  const files: (ResolvedHubFile | undefined)[] = [];
  const missing: number[] = [];
  for (const [index, reference] of references.entries()) {
    const found = await cache.lookup(repo, commit, reference.path, verify);
    if (found.status === "hit") {
      onProgress?.({ type: "cached", repo: designation, path: reference.path, bytes: found.entry.size });
      files.push(toResolvedFile(reference.uri, found.file, found.entry, false));
    } else {
      if (found.status === "corrupt") await cache.remove(repo, commit, reference.path);
      files.push(undefined);
      missing.push(index);
    }
  }

  if (missing.length > 0) {
    if (offline) {
      throw new HubError(
        `Offline (HF_HUB_OFFLINE=1) and ${missing.map((index) => references[index]?.path).join(", ")} from ` +
          `${describeRepo(repo)} at ${commit} is not in the cache ${cache.root}. Run once with network access.`,
        { repo },
      );
    }
    const expected = await readExpectedFiles({
      repo,
      paths: missing.map((index) => (references[index] as { path: string }).path),
      commit,
      requestedRevision,
      token,
      hubUrl,
      fetch: baseFetch,
    });
    for (const index of missing) {
      const reference = references[index] as (typeof references)[number];
      const download = () =>
        downloadHubFile({
          repo,
          path: reference.path,
          commit,
          requestedRevision,
          expected: expected.get(reference.path),
          token,
          baseUrl: hubUrl,
          cache,
          verify,
          fetch: baseFetch,
          onProgress,
          ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
          ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
        });
      // A dropped download resumes from its `.incomplete` file on the next attempt.
      const result = await callWithRetry(download, {
        service: "hub",
        retries: parsed.retries,
        minBackoffMs: parsed.retryDelayMs,
        maxBackoffMs: Math.max(parsed.retryDelayMs, 60_000),
        random: () => 0,
      });
      files[index] = toResolvedFile(reference.uri, result.file, result.entry, result.downloaded);
    }
  }

  if (requestedRevision !== commit) await cache.writeRef(repo, requestedRevision ?? "HEAD", commit);
  const resolved = files as ResolvedHubFile[];
  return {
    paths: resolved.map((file) => file.path),
    revision: commit,
    repo: designation,
    requestedRevision: requestedRevision ?? "HEAD",
    files: resolved,
  };
}

function toResolvedFile(
  uri: string,
  path: string,
  entry: { path: string; size: number; sha256: string; etag: string },
  downloaded: boolean,
): ResolvedHubFile {
  return { uri, pathInRepo: entry.path, path, size: entry.size, sha256: entry.sha256, etag: entry.etag, downloaded };
}

function checkTokenShape(token: string | undefined, explicit: boolean): void {
  if (token !== undefined && !token.startsWith("hf_")) {
    throw new UsageError(
      `The Hugging Face token ${explicit ? "passed in" : "found in HF_TOKEN or the token file"} does not look like one ` +
        `(tokens start with "hf_"). Create one at https://huggingface.co/settings/tokens.`,
    );
  }
}

/** Branch or tag -> commit sha, from the hub (or, offline or when the network fails, from the cache's last answer). */
async function resolveCommit(input: {
  repo: HubRepo;
  requestedRevision?: string;
  token?: string;
  hubUrl: string;
  cache: HubCache;
  offline: boolean;
  fetch?: typeof fetch;
  onProgress?: HubProgressCallback;
}): Promise<string> {
  const { repo, requestedRevision, token, hubUrl, cache, offline, onProgress } = input;
  const designation = formatRepoDesignation(repo);
  if (requestedRevision && COMMIT_SHA.test(requestedRevision)) return requestedRevision;
  const refName = requestedRevision ?? "HEAD";
  const cachedCommit = async () => {
    const commit = await cache.readRef(repo, refName);
    if (commit) onProgress?.({ type: "resolved", repo: designation, revision: refName, commit, offline: true });
    return commit;
  };
  if (offline) {
    const commit = await cachedCommit();
    if (commit) return commit;
    throw new HubError(
      `Offline (HF_HUB_OFFLINE=1) and the cache ${cache.root} has never resolved "${refName}" of ${describeRepo(repo)}. ` +
        "Run once with network access, or pin a commit sha with @<sha>.",
      { repo },
    );
  }
  const observed = createObservedFetch(input.fetch);
  const context = {
    repo,
    hubUrl,
    revision: requestedRevision,
    action: `resolving revision "${refName}" of ${describeRepo(repo)}`,
    tokenSent: Boolean(token),
    observed,
  };
  let sha: unknown;
  try {
    const common = { name: repo.name, revision: requestedRevision, hubUrl, fetch: observed.fetch, accessToken: token };
    const info =
      repo.type === "dataset"
        ? await datasetInfo({ ...common, additionalFields: ["sha"] })
        : repo.type === "space"
          ? await spaceInfo({ ...common, additionalFields: ["sha"] })
          : await modelInfo({ ...common, additionalFields: ["sha"] });
    sha = (info as { sha?: unknown }).sha;
  } catch (error) {
    if (isNetworkFailure(error)) {
      const commit = await cachedCommit();
      if (commit) return commit;
    }
    throw classifyHubFailure(error, context);
  }
  if (typeof sha !== "string" || !COMMIT_SHA.test(sha)) {
    throw new HubApiCallError({ action: context.action, statusCode: 502, serverMessage: "the answer carried no commit sha", repo });
  }
  onProgress?.({ type: "resolved", repo: designation, revision: refName, commit: sha });
  return sha;
}

/** Sizes and checksums from `paths-info`; a path the hub does not list is a 404 before any download. */
async function readExpectedFiles(input: {
  repo: HubRepo;
  paths: string[];
  commit: string;
  requestedRevision?: string;
  token?: string;
  hubUrl: string;
  fetch?: typeof fetch;
}): Promise<Map<string, ExpectedFile>> {
  const { repo, paths, commit, token, hubUrl } = input;
  const observed = createObservedFetch(input.fetch);
  const context = {
    repo,
    hubUrl,
    revision: input.requestedRevision,
    commit,
    action: `listing ${paths.join(", ")} in ${describeRepo(repo)}`,
    tokenSent: Boolean(token),
    observed,
  };
  let infos: Awaited<ReturnType<typeof pathsInfo>>;
  try {
    infos = await pathsInfo({ repo: formatRepoDesignation(repo), paths, revision: commit, hubUrl, fetch: observed.fetch, accessToken: token });
  } catch (error) {
    throw classifyHubFailure(error, context);
  }
  const expected = new Map<string, ExpectedFile>();
  for (const info of infos) {
    if (info.type !== "file") continue;
    expected.set(info.path, {
      size: info.lfs?.size ?? info.size,
      sha256: info.lfs?.oid,
      gitBlobSha1: info.lfs ? undefined : info.oid,
    });
  }
  for (const path of paths) {
    if (!expected.has(path)) throw new HubNotFoundError({ ...context, path, missing: "file" });
  }
  return expected;
}
