import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { pathToFileURL } from "node:url";
import { HubApiError, commitIter, createRepo, pathsInfo, type CommitOutput } from "@huggingface/hub";
import { classifyHubFailure } from "./classify-hub-failure";
import { HubError, HubNotFoundError, describeRepo, formatRepoDesignation, repoPageUrl, type HubRepo } from "./errors";
import type { HubProgressCallback } from "./hub-progress";
import { createObservedFetch } from "./observe-fetch";

/** One file and where it goes in the repository: a local file, or bytes made on the spot (a generated card). */
export interface UploadFile {
  pathInRepo: string;
  /** Local file, streamed from disk. */
  localPath?: string;
  /** In-memory content, used when there is no `localPath`. */
  content?: Uint8Array;
  bytes: number;
  sha256: string;
}

/** Outcome of an upload. */
export interface UploadResult {
  /** False when the repository already existed (its visibility was left as it was). */
  created: boolean;
  repoUrl: string;
  commitOid: string;
  commitUrl: string;
}

/**
 * Creates the repository if needed (with the requested visibility), uploads every file in one
 * commit with `@huggingface/hub` (files streamed from disk; large ones through LFS), then reads the
 * commit back with `paths-info` and checks each file's size and checksum, so a push that reports
 * success has every file intact on the hub.
 */
export async function uploadToHub(input: {
  repo: HubRepo;
  files: UploadFile[];
  private: boolean;
  token: string;
  hubUrl: string;
  title: string;
  description: string;
  fetch?: typeof fetch;
  onProgress?: HubProgressCallback;
}): Promise<UploadResult> {
  const { repo, files, token, hubUrl, onProgress } = input;
  const designation = formatRepoDesignation(repo);
  const observed = createObservedFetch(input.fetch);
  const context = { repo, hubUrl, tokenSent: true, observed };

  onProgress?.({ type: "upload-phase", repo: designation, phase: "creating-repo" });
  let created = true;
  let creationRefused: Error | undefined;
  try {
    await createRepo({
      repo: designation,
      visibility: input.private ? "private" : "public",
      accessToken: token,
      hubUrl,
      fetch: observed.fetch,
    });
  } catch (error) {
    // 409: it exists already. 403: the token may not create repositories (a fine-grained token
    // scoped to one existing repository); the commit below then either works or explains itself.
    if (error instanceof HubApiError && (error.statusCode === 409 || error.statusCode === 403)) {
      created = false;
      if (error.statusCode === 403) creationRefused = classifyHubFailure(error, { ...context, action: `creating the ${describeRepo(repo)}` });
    } else throw classifyHubFailure(error, { ...context, action: `creating the ${describeRepo(repo)}` });
  }

  let output: CommitOutput | undefined;
  try {
    const iterator = commitIter({
      repo: designation,
      title: input.title,
      description: input.description,
      operations: files.map((file) => ({
        operation: "addOrUpdate",
        path: file.pathInRepo,
        content: file.localPath ? pathToFileURL(file.localPath) : new Blob([file.content ?? new Uint8Array()]),
      })),
      accessToken: token,
      hubUrl,
      fetch: observed.fetch,
      // Plain LFS (basic/multipart) rather than xet: the protocol our tests exercise end to end; the hub accepts both.
      useXet: false,
    });
    for (;;) {
      const step = await iterator.next();
      if (step.done) {
        output = step.value;
        break;
      }
      const event = step.value;
      if (event.event === "phase") onProgress?.({ type: "upload-phase", repo: designation, phase: event.phase });
      else if (event.state !== "error") {
        onProgress?.({ type: "upload", repo: designation, path: event.path, state: event.state, progress: event.progress });
      }
    }
  } catch (error) {
    const classified = classifyHubFailure(error, { ...context, action: `uploading ${files.length} files to ${describeRepo(repo)}` });
    // Creation was refused and the repository does not exist: the refusal is the real reason.
    if (creationRefused && classified instanceof HubNotFoundError && classified.missing === "repo") throw creationRefused;
    throw classified;
  }
  if (!output) throw new Error(`the hub returned no commit for ${describeRepo(repo)}`);

  await verifyUploaded({ repo, files, commit: output.commit.oid, token, hubUrl, fetch: observed.fetch });
  return { created, repoUrl: repoPageUrl(repo, hubUrl), commitOid: output.commit.oid, commitUrl: output.commit.url };
}

/** Reads the new commit back and compares sizes and checksums with the local files. */
async function verifyUploaded(input: {
  repo: HubRepo;
  files: UploadFile[];
  commit: string;
  token: string;
  hubUrl: string;
  fetch: typeof fetch;
}): Promise<void> {
  const { repo, files, commit, token, hubUrl } = input;
  let infos: Awaited<ReturnType<typeof pathsInfo>>;
  try {
    infos = await pathsInfo({
      repo: formatRepoDesignation(repo),
      paths: files.map((file) => file.pathInRepo),
      revision: commit,
      accessToken: token,
      hubUrl,
      fetch: input.fetch,
    });
  } catch (error) {
    throw classifyHubFailure(error, { repo, hubUrl, tokenSent: true, action: `checking the upload to ${describeRepo(repo)}` });
  }
  const byPath = new Map(infos.map((info) => [info.path, info]));
  const problems: string[] = [];
  for (const file of files) {
    const info = byPath.get(file.pathInRepo);
    if (!info) {
      problems.push(`${file.pathInRepo} is missing from commit ${commit}`);
      continue;
    }
    const size = info.lfs?.size ?? info.size;
    if (size !== file.bytes) problems.push(`${file.pathInRepo} has ${size} bytes on the hub, ${file.bytes} locally`);
    else if (info.lfs && info.lfs.oid !== file.sha256) problems.push(`${file.pathInRepo} has sha256 ${info.lfs.oid} on the hub, ${file.sha256} locally`);
    else if (!info.lfs && info.oid && info.oid !== (await gitBlobSha1(file))) {
      problems.push(`${file.pathInRepo} has git oid ${info.oid} on the hub, which does not match the local file`);
    }
  }
  if (problems.length > 0) {
    throw new HubError(
      `The push to ${describeRepo(repo)} made commit ${commit}, but the hub's copy differs from the local files: ` +
        `${problems.join("; ")}. Push again.`,
      { repo, isRetryable: true },
    );
  }
}

async function gitBlobSha1(file: UploadFile): Promise<string> {
  const hash = createHash("sha1").update(`blob ${file.bytes}\0`);
  if (file.localPath) for await (const chunk of createReadStream(file.localPath)) hash.update(chunk as Buffer);
  else hash.update(file.content ?? new Uint8Array());
  return hash.digest("hex");
}
