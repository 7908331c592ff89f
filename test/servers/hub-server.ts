/**
 * A local stand-in for the Hugging Face Hub, speaking the HTTP API for exactly the calls that
 * `@huggingface/hub` 2.17 makes for this project (read in node_modules/@huggingface/hub/src):
 *
 * - `GET  /api/{datasets,models,spaces}/OWNER/NAME/revision/REV?expand=...`  (datasetInfo & co: `sha`, `gated`)
 * - `POST /api/{type}s/OWNER/NAME/paths-info/REV`                            (pathsInfo: size, git oid, lfs.oid)
 * - `GET  /{datasets/,spaces/,}OWNER/NAME/resolve/REV/PATH`                  (fileDownloadInfo's `Range: bytes=0-0`
 *   probe and WebBlob's downloads): regular files served with a git-sha1 ETag and `X-Repo-Commit`; LFS files
 *   answered with a 302 to a second origin (the "CDN") carrying `X-Linked-ETag`/`X-Linked-Size`, as the hub does;
 *   `Range` honoured (206 + `Content-Range`).
 * - Errors as the hub returns them: `X-Error-Code: GatedRepo` (401 without a token, 403 when the token's account
 *   has not accepted the terms) with `X-Error-Message`, `RepoNotFound` (401 anonymous / 404 with a token),
 *   `RevisionNotFound`, `EntryNotFound` (404), JSON bodies `{"error": ...}`.
 * - `POST /api/repos/create`, `POST /api/{type}s/OWNER/NAME/preupload/REV`,
 *   `POST /{type}s/OWNER/NAME.git/info/lfs/objects/batch` (basic transfer, upload href on the CDN origin),
 *   `PUT` of the LFS object to that href, and `POST /api/{type}s/OWNER/NAME/commit/REV` (NDJSON: header, file,
 *   lfsFile, deletedFile).
 *
 * Faults for tests: `dropConnection` cuts a response body midway; `ignoreRangeAfterStart` answers ranged requests
 * that do not start at byte 0 with the whole file (200), like a server without range support.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RepoType = "dataset" | "model" | "space";

interface StoredFile {
  content: Buffer;
  lfs: boolean;
}

interface Commit {
  sha: string;
  parent?: string;
  title: string;
  description?: string;
  files: Map<string, StoredFile>;
}

export interface FakeRepo {
  type: RepoType;
  name: string;
  private: boolean;
  gated: false | "auto" | "manual";
  branches: Map<string, string>;
  commits: Map<string, Commit>;
}

export interface RecordedRequest {
  origin: "hub" | "cdn";
  method: string;
  /** Path and query, as sent. */
  url: string;
  range?: string;
  /** The `Authorization` header value, if any (tests assert tokens do not travel to the CDN). */
  authorization?: string;
  contentType?: string;
  acceptEncoding?: string;
}

export interface TokenGrant {
  user: string;
  /** Organisations the token may write to, besides the user's own namespace. */
  orgs?: string[];
  /** `datasets/GAIR/lima`-style designations whose gate this account passed. */
  acceptedGated?: string[];
  /** Read-only tokens may not create repos or commit. */
  write?: boolean;
}

export interface HubServerOptions {
  tokens?: Record<string, TokenGrant>;
  /** Files larger than this (bytes), or holding a NUL byte, are stored as LFS; default 1024. */
  lfsThreshold?: number;
}

export interface HubServer {
  /** The hub origin, e.g. http://127.0.0.1:41234 (pass as `baseUrl`). */
  url: string;
  /** The origin LFS downloads redirect to and uploads go to. */
  cdnUrl: string;
  requests: RecordedRequest[];
  options: Required<HubServerOptions>;
  /** Creates a repository with one commit on `main`; returns that commit's sha. */
  addRepo(input: {
    type?: RepoType;
    name: string;
    files: Record<string, string | Uint8Array>;
    gated?: false | "auto" | "manual";
    private?: boolean;
  }): string;
  /** Adds a commit on a branch (default `main`, created if absent) with these files changed; returns its sha. */
  addCommit(input: { type?: RepoType; name: string; files: Record<string, string | Uint8Array>; branch?: string; title?: string }): string;
  repo(type: RepoType, name: string): FakeRepo | undefined;
  /** A file's bytes at a revision (branch or sha). */
  readFile(type: RepoType, name: string, path: string, revision?: string): Buffer | undefined;
  /** Head commit of a branch. */
  head(type: RepoType, name: string, branch?: string): Commit | undefined;
  /** The next `times` GET responses (default 1) whose URL contains `urlPart` stop after `afterBytes` body bytes. */
  dropConnection(input: { urlPart: string; afterBytes: number; times?: number }): void;
  ignoreRangeAfterStart: boolean;
  /** Requests whose path matches (downloads: `/resolve/`, `/lfs/`). */
  requestsTo(part: string): RecordedRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const gitBlobSha1 = (data: Buffer) => createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");
const designationOf = (type: RepoType, name: string) => (type === "model" ? name : `${type}s/${name}`);
const typeFromPlural: Record<string, RepoType> = { datasets: "dataset", models: "model", spaces: "space" };

/** Starts the fake hub and its CDN on 127.0.0.1, each on a free port. */
export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const resolvedOptions: Required<HubServerOptions> = { tokens: options.tokens ?? {}, lfsThreshold: options.lfsThreshold ?? 1024 };
  const repos = new Map<string, FakeRepo>();
  const lfsStore = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const drops: { urlPart: string; afterBytes: number; times: number }[] = [];
  let commitCounter = 0;

  const keyOf = (type: RepoType, name: string) => `${type}:${name}`;
  const isLfs = (content: Buffer) => content.length > resolvedOptions.lfsThreshold || content.includes(0);

  const makeCommit = (repo: FakeRepo, branch: string, changes: Map<string, StoredFile | null>, title: string, description?: string) => {
    const parentSha = repo.branches.get(branch);
    const parent = parentSha ? repo.commits.get(parentSha) : undefined;
    const files = new Map(parent?.files ?? []);
    for (const [path, file] of changes) {
      if (file) files.set(path, file);
      else files.delete(path);
    }
    commitCounter += 1;
    const hash = createHash("sha1").update(`${repo.type}/${repo.name}\n${parentSha ?? ""}\n${title}\n${commitCounter}\n`);
    for (const [path, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${path}:${sha256(file.content)}\n`);
    const sha = hash.digest("hex");
    repo.commits.set(sha, { sha, parent: parentSha, title, description, files });
    repo.branches.set(branch, sha);
    for (const file of files.values()) if (file.lfs) lfsStore.set(sha256(file.content), file.content);
    return sha;
  };

  const toChanges = (files: Record<string, string | Uint8Array>) =>
    new Map<string, StoredFile>(
      Object.entries(files).map(([path, content]) => {
        const buffer = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
        return [path, { content: buffer, lfs: isLfs(buffer) }];
      }),
    );

  const revisionCommit = (repo: FakeRepo, revision: string) => {
    if (revision === "HEAD") revision = "main";
    const sha = repo.branches.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    return sha ? repo.commits.get(sha) : undefined;
  };

  const tokenOf = (request: IncomingMessage): { raw?: string; grant?: TokenGrant } => {
    const header = request.headers.authorization;
    const raw = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
    return { raw, grant: raw ? resolvedOptions.tokens[raw] : undefined };
  };

  const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...headers });
    response.end(text);
  };

  const sendError = (response: ServerResponse, status: number, code: string | undefined, message: string) => {
    sendJson(response, status, { error: message }, code ? { "X-Error-Code": code, "X-Error-Message": message } : {});
  };

  const readBody = (request: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => resolve(Buffer.concat(chunks)));
      request.on("error", reject);
    });

  /** Checks read access as the hub does; answers and returns false when refused. */
  const checkRead = (request: IncomingMessage, response: ServerResponse, repo: FakeRepo | undefined, forDownload: boolean) => {
    const { raw, grant } = tokenOf(request);
    if (raw && !grant) {
      sendError(response, 401, undefined, "Invalid credentials in Authorization header");
      return false;
    }
    const owner = repo?.name.split("/")[0];
    const canSeePrivate = grant && (grant.user === owner || grant.orgs?.includes(owner ?? ""));
    if (!repo || (repo.private && !canSeePrivate)) {
      // Anonymous callers get 401 for missing and private repositories alike.
      sendError(response, raw ? 404 : 401, "RepoNotFound", "Repository not found");
      return false;
    }
    if (forDownload && repo.gated) {
      const designation = designationOf(repo.type, repo.name);
      const kind = repo.type === "model" ? "model" : repo.type;
      if (!grant) {
        sendError(
          response,
          401,
          "GatedRepo",
          `Access to ${kind} ${repo.name} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
        return false;
      }
      if (!grant.acceptedGated?.includes(designation) && !canSeePrivate) {
        sendError(
          response,
          403,
          "GatedRepo",
          `Access to ${kind} ${repo.name} is restricted and you are not in the authorized list. Visit ${hub.url}/${designation} to ask for access.`,
        );
        return false;
      }
    }
    return true;
  };

  const checkWrite = (request: IncomingMessage, response: ServerResponse, namespace: string) => {
    const { raw, grant } = tokenOf(request);
    if (!raw || !grant) {
      sendError(response, 401, undefined, raw ? "Invalid credentials in Authorization header" : "You must be authenticated to do this");
      return false;
    }
    if (grant.write === false || (grant.user !== namespace && !grant.orgs?.includes(namespace))) {
      sendError(response, 403, undefined, `You don't have the rights to create or write to ${namespace}/*`);
      return false;
    }
    return true;
  };

  /** Serves bytes with Range support, honouring `dropConnection` and `ignoreRangeAfterStart`. */
  const serveBytes = (request: IncomingMessage, response: ServerResponse, content: Buffer, headers: Record<string, string>) => {
    let start = 0;
    let end = content.length - 1;
    let status = 200;
    const range = request.headers.range;
    const match = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (match && !(hub.ignoreRangeAfterStart && Number(match[1]) > 0)) {
      start = Number(match[1]);
      end = match[2] ? Math.min(Number(match[2]), content.length - 1) : content.length - 1;
      if (start >= content.length && content.length > 0) {
        response.writeHead(416, { "Content-Range": `bytes */${content.length}` });
        response.end();
        return;
      }
      status = 206;
    }
    const body = content.subarray(start, end + 1);
    response.writeHead(status, {
      ...headers,
      "Accept-Ranges": "bytes",
      "Content-Length": String(body.length),
      ...(status === 206 ? { "Content-Range": `bytes ${start}-${end}/${content.length}` } : {}),
    });
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const drop = drops.find((candidate) => request.url?.includes(candidate.urlPart) && body.length > candidate.afterBytes);
    if (drop) {
      drop.times -= 1;
      if (drop.times <= 0) drops.splice(drops.indexOf(drop), 1);
      response.write(body.subarray(0, drop.afterBytes), () => {
        // Give the bytes time to leave, then cut the connection without finishing the body.
        setTimeout(() => response.socket?.destroy(), 20);
      });
      return;
    }
    response.end(body);
  };

  const handleHub = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", hub.url);
    const segments = url.pathname.split("/").slice(1).map((segment) => decodeURIComponent(segment));
    const method = request.method ?? "GET";

    // POST /api/repos/create
    if (method === "POST" && url.pathname === "/api/repos/create") {
      const body = JSON.parse((await readBody(request)).toString("utf8")) as {
        name: string;
        organization?: string;
        type?: RepoType;
        visibility?: "public" | "private";
        private?: boolean;
      };
      const namespace = body.organization ?? tokenOf(request).grant?.user ?? "";
      if (!checkWrite(request, response, namespace)) return;
      const type = body.type ?? "model";
      const name = `${namespace}/${body.name}`;
      const repoUrl = `${hub.url}/${designationOf(type, name)}`;
      if (repos.has(keyOf(type, name))) {
        sendJson(response, 409, { error: `You already created this ${type} repo`, url: repoUrl });
        return;
      }
      const isPrivate = body.visibility ? body.visibility === "private" : Boolean(body.private);
      repos.set(keyOf(type, name), { type, name, private: isPrivate, gated: false, branches: new Map(), commits: new Map() });
      makeCommit(repos.get(keyOf(type, name)) as FakeRepo, "main", toChanges({ ".gitattributes": "*.arrow filter=lfs diff=lfs merge=lfs -text\n" }), "initial commit");
      sendJson(response, 200, { url: repoUrl, name, id: createHash("sha1").update(name).digest("hex").slice(0, 24) });
      return;
    }

    // /api/{type}s/OWNER/NAME/{revision|paths-info|preupload|commit}/REV
    if (segments[0] === "api" && segments[1] && segments[1] in typeFromPlural && segments.length >= 6) {
      const type = typeFromPlural[segments[1]] as RepoType;
      const name = `${segments[2]}/${segments[3]}`;
      const action = segments[4];
      const revision = segments.slice(5).join("/");
      const repo = repos.get(keyOf(type, name));

      if (action === "revision" && (method === "GET" || method === "HEAD")) {
        if (!checkRead(request, response, repo, false)) return;
        const commit = revisionCommit(repo as FakeRepo, revision);
        if (!commit) return sendError(response, 404, "RevisionNotFound", `Invalid rev id: ${revision}`);
        const fakeRepo = repo as FakeRepo;
        sendJson(response, 200, {
          _id: createHash("sha1").update(name).digest("hex").slice(0, 24),
          id: name,
          sha: commit.sha,
          private: fakeRepo.private,
          gated: fakeRepo.gated,
          disabled: false,
          downloads: 0,
          likes: 0,
          lastModified: "2024-01-01T00:00:00.000Z",
          siblings: [...commit.files.keys()].map((rfilename) => ({ rfilename })),
        });
        return;
      }

      if (action === "paths-info" && method === "POST") {
        const body = JSON.parse((await readBody(request)).toString("utf8")) as { paths: string[] };
        if (!checkRead(request, response, repo, false)) return;
        const commit = revisionCommit(repo as FakeRepo, revision);
        if (!commit) return sendError(response, 404, "RevisionNotFound", `Invalid rev id: ${revision}`);
        const result = body.paths.flatMap((path) => {
          const file = commit.files.get(path);
          if (!file) return [];
          const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(file.content)}\nsize ${file.content.length}\n`;
          return [
            {
              type: "file",
              path,
              size: file.content.length,
              oid: file.lfs ? gitBlobSha1(Buffer.from(pointer)) : gitBlobSha1(file.content),
              ...(file.lfs ? { lfs: { oid: sha256(file.content), size: file.content.length, pointerSize: pointer.length } } : {}),
            },
          ];
        });
        sendJson(response, 200, result);
        return;
      }

      if (action === "preupload" && method === "POST") {
        const body = JSON.parse((await readBody(request)).toString("utf8")) as { files: { path: string; size: number; sample: string }[] };
        if (!repo) return sendError(response, 404, "RepoNotFound", "Repository not found");
        if (!checkWrite(request, response, name.split("/")[0] as string)) return;
        sendJson(response, 200, {
          files: body.files.map((file) => ({
            path: file.path,
            uploadMode: file.size > resolvedOptions.lfsThreshold || Buffer.from(file.sample, "base64").includes(0) ? "lfs" : "regular",
            shouldIgnore: false,
          })),
          commitOid: repo.branches.get(revision) ?? null,
        });
        return;
      }

      if (action === "commit" && method === "POST") {
        const text = (await readBody(request)).toString("utf8");
        if (!repo) return sendError(response, 404, "RepoNotFound", "Repository not found");
        if (!checkWrite(request, response, name.split("/")[0] as string)) return;
        if (!request.headers["content-type"]?.startsWith("application/x-ndjson")) {
          return sendError(response, 400, undefined, "Expected application/x-ndjson");
        }
        const lines = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { key: string; value: Record<string, unknown> });
        const header = lines.find((line) => line.key === "header")?.value as { summary: string; description?: string } | undefined;
        if (!header?.summary) return sendError(response, 400, undefined, "Missing commit header summary");
        const changes = new Map<string, StoredFile | null>();
        for (const line of lines) {
          if (line.key === "file") {
            const value = line.value as { path: string; content: string; encoding: string };
            changes.set(value.path, { content: Buffer.from(value.content, value.encoding === "base64" ? "base64" : "utf8"), lfs: false });
          } else if (line.key === "lfsFile") {
            const value = line.value as { path: string; oid: string; size: number };
            const blob = lfsStore.get(value.oid);
            if (!blob || blob.length !== value.size) {
              return sendError(response, 422, undefined, `LFS object ${value.oid} for ${value.path} was never uploaded`);
            }
            changes.set(value.path, { content: blob, lfs: true });
          } else if (line.key === "deletedFile") {
            changes.set((line.value as { path: string }).path, null);
          }
        }
        const sha = makeCommit(repo, revision, changes, header.summary, header.description);
        sendJson(response, 200, { success: true, commitOid: sha, commitUrl: `${hub.url}/${designationOf(type, name)}/commit/${sha}`, hookOutput: "" });
        return;
      }
    }

    // POST /{type}s/OWNER/NAME.git/info/lfs/objects/batch (models: /OWNER/NAME.git/...)
    const lfsMatch = /^\/(?:(datasets|spaces|models)\/)?([^/]+)\/([^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(url.pathname);
    if (lfsMatch && method === "POST") {
      const type = lfsMatch[1] ? (typeFromPlural[lfsMatch[1]] as RepoType) : "model";
      const name = `${lfsMatch[2]}/${lfsMatch[3]}`;
      const body = JSON.parse((await readBody(request)).toString("utf8")) as { operation: string; objects: { oid: string; size: number }[] };
      if (!repos.has(keyOf(type, name))) return sendError(response, 404, "RepoNotFound", "Repository not found");
      if (!checkWrite(request, response, lfsMatch[2] as string)) return;
      const text = JSON.stringify({
        transfer: "basic",
        objects: body.objects.map((object) =>
          lfsStore.has(object.oid)
            ? { oid: object.oid, size: object.size, authenticated: true }
            : {
                oid: object.oid,
                size: object.size,
                authenticated: true,
                actions: { upload: { href: `${hub.cdnUrl}/upload/${object.oid}?size=${object.size}`, expires_in: 86400 } },
              },
        ),
      });
      response.writeHead(200, { "Content-Type": "application/vnd.git-lfs+json", "Content-Length": Buffer.byteLength(text) });
      response.end(text);
      return;
    }

    // GET /{datasets,spaces}/OWNER/NAME/resolve/REV/PATH or /OWNER/NAME/resolve/REV/PATH
    if (method === "GET" || method === "HEAD") {
      let type: RepoType = "model";
      let offset = 0;
      if (segments[0] === "datasets" || segments[0] === "spaces") {
        type = typeFromPlural[segments[0]] as RepoType;
        offset = 1;
      }
      if (segments[offset + 2] === "resolve" && segments.length > offset + 4) {
        const name = `${segments[offset]}/${segments[offset + 1]}`;
        const revision = segments[offset + 3] as string;
        const path = segments.slice(offset + 4).join("/");
        const repo = repos.get(keyOf(type, name));
        if (!checkRead(request, response, repo, true)) return;
        const commit = revisionCommit(repo as FakeRepo, revision);
        if (!commit) return sendError(response, 404, "RevisionNotFound", `Revision Not Found for url: ${url.href}.`);
        const file = commit.files.get(path);
        if (!file) return sendError(response, 404, "EntryNotFound", `Entry not found`);
        const common = { "X-Repo-Commit": commit.sha, "X-Request-Id": `req-${requests.length}` };
        if (file.lfs) {
          const oid = sha256(file.content);
          response.writeHead(302, {
            ...common,
            Location: `${hub.cdnUrl}/lfs/${oid}?response-content-disposition=attachment`,
            "X-Linked-ETag": `"${oid}"`,
            "X-Linked-Size": String(file.content.length),
            ETag: `"${oid}"`,
            "Content-Length": "0",
          });
          response.end();
          return;
        }
        serveBytes(request, response, file.content, { ...common, ETag: `"${gitBlobSha1(file.content)}"`, "Content-Type": "application/octet-stream" });
        return;
      }
    }

    sendError(response, 404, undefined, `Fake hub: no route for ${method} ${url.pathname}`);
  };

  const handleCdn = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", hub.cdnUrl);
    const download = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (download && (request.method === "GET" || request.method === "HEAD")) {
      const blob = lfsStore.get(download[1] as string);
      if (!blob) return sendError(response, 404, undefined, "NoSuchKey");
      serveBytes(request, response, blob, { ETag: `"${md5(blob)}"`, "Content-Type": "application/octet-stream" });
      return;
    }
    const upload = /^\/upload\/([0-9a-f]{64})$/.exec(url.pathname);
    if (upload && request.method === "PUT") {
      const body = await readBody(request);
      const oid = upload[1] as string;
      if (sha256(body) !== oid || String(body.length) !== url.searchParams.get("size")) {
        return sendError(response, 400, undefined, "Uploaded content does not match the announced oid and size");
      }
      lfsStore.set(oid, body);
      response.writeHead(200, { ETag: `"${md5(body)}"`, "Content-Length": "0" });
      response.end();
      return;
    }
    sendError(response, 404, undefined, `Fake CDN: no route for ${request.method} ${url.pathname}`);
  };

  const listen = (origin: "hub" | "cdn", handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>) => {
    const server = createServer((request, response) => {
      requests.push({
        origin,
        method: request.method ?? "GET",
        url: request.url ?? "/",
        range: request.headers.range,
        authorization: request.headers.authorization,
        contentType: request.headers["content-type"],
        acceptEncoding: request.headers["accept-encoding"],
      });
      handler(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendError(response, 500, undefined, `Fake hub crashed: ${String(error)}`);
        else response.destroy();
      });
    });
    return new Promise<Server>((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
  };

  const hubServer = await listen("hub", (request, response) => handleHub(request, response));
  const cdnServer = await listen("cdn", (request, response) => handleCdn(request, response));
  const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const hub: HubServer = {
    url: origin(hubServer),
    cdnUrl: origin(cdnServer),
    requests,
    options: resolvedOptions,
    ignoreRangeAfterStart: false,
    addRepo(input) {
      const type = input.type ?? "dataset";
      const repo: FakeRepo = {
        type,
        name: input.name,
        private: input.private ?? false,
        gated: input.gated ?? false,
        branches: new Map(),
        commits: new Map(),
      };
      repos.set(keyOf(type, input.name), repo);
      return makeCommit(repo, "main", toChanges(input.files), "Initial commit");
    },
    addCommit(input) {
      const repo = repos.get(keyOf(input.type ?? "dataset", input.name));
      if (!repo) throw new Error(`no repo ${input.name}`);
      return makeCommit(repo, input.branch ?? "main", toChanges(input.files), input.title ?? "Update");
    },
    repo: (type, name) => repos.get(keyOf(type, name)),
    readFile(type, name, path, revision = "main") {
      const repo = repos.get(keyOf(type, name));
      return repo ? revisionCommit(repo, revision)?.files.get(path)?.content : undefined;
    },
    head(type, name, branch = "main") {
      const repo = repos.get(keyOf(type, name));
      const sha = repo?.branches.get(branch);
      return sha ? repo?.commits.get(sha) : undefined;
    },
    dropConnection(input) {
      drops.push({ urlPart: input.urlPart, afterBytes: input.afterBytes, times: input.times ?? 1 });
    },
    requestsTo: (part) => requests.filter((request) => request.url.includes(part)),
    clearRequests() {
      requests.length = 0;
    },
    async close() {
      for (const server of [hubServer, cdnServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
  return hub;
}
