import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubGatedRepoError, HubNetworkError, HubNotFoundError, resolveSource, type HubProgressEvent } from "../../src/hub/index";
import { startHubServer, type HubServer } from "../servers/hub-server";
import { READER_TOKEN, closedPortUrl, SECRET_TOKEN, limaJsonl, listFiles, makeBytes, makeTemporaryDirectory, removeDirectory, sha256Of } from "./helpers";

let hub: HubServer;
let cacheDir: string;
const env = {}; // hermetic: no HF_TOKEN, no token file, no HF_ENDPOINT from the machine running the tests
const limaTrain = limaJsonl(40);
const limaTest = '{"conversations": ["Only a prompt"], "source": "manual"}\n';
const bactrian = (lang: string) =>
  gzipSync(Buffer.from(JSON.stringify([{ instruction: `Instruction in ${lang}`, input: "", id: "alpaca-1", output: `Output ${lang}` }])));
const bigFile = makeBytes(300_000, 7);

beforeAll(async () => {
  hub = await startHubServer({
    tokens: {
      [SECRET_TOKEN]: { user: "alice", acceptedGated: ["datasets/GAIR/lima"] },
      [READER_TOKEN]: { user: "bob" },
    },
  });
  hub.addRepo({ name: "GAIR/lima", gated: "manual", files: { "train.jsonl": limaTrain, "test.jsonl": limaTest } });
  hub.addRepo({
    name: "MBZUAI/Bactrian-X",
    files: { "data/en.json.gz": bactrian("en"), "data/de.json.gz": bactrian("de"), "data/fr.json.gz": bactrian("fr"), "README.md": "# Bactrian-X\n" },
  });
  hub.addRepo({ name: "acme/big", files: { "big.bin": bigFile, "small.txt": "hello\n" } });
});

afterAll(async () => {
  await hub.close();
});

beforeEach(async () => {
  cacheDir = await makeTemporaryDirectory("cache");
  hub.clearRequests();
  hub.ignoreRangeAfterStart = false;
});

afterEach(async () => {
  await removeDirectory(cacheDir);
});

const downloadsIn = (server: HubServer) =>
  server.requests.filter((request) => request.url.includes("/resolve/") || request.url.startsWith("/lfs/"));

describe("resolveSource", () => {
  it("passes local paths through unchanged, without touching the network or the cache", async () => {
    const result = await resolveSource({ uri: "fixtures/lima/train.jsonl", cacheDir, baseUrl: hub.url, env });
    expect(result).toEqual({ paths: ["fixtures/lima/train.jsonl"] });
    expect(hub.requests).toHaveLength(0);
  });

  it("downloads a gated file with a token, records the commit, and a second run downloads nothing", async () => {
    const head = hub.head("dataset", "GAIR/lima")?.sha;
    const first = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(first.revision).toBe(head);
    expect(first.repo).toBe("datasets/GAIR/lima");
    expect(first.paths).toHaveLength(1);
    expect(await readFile(first.paths[0] as string, "utf8")).toBe(limaTrain);
    expect(first.files?.[0]).toMatchObject({ sha256: sha256Of(limaTrain), size: Buffer.byteLength(limaTrain), downloaded: true });
    expect(downloadsIn(hub).length).toBeGreaterThan(0);

    hub.clearRequests();
    const second = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(second.paths).toEqual(first.paths);
    expect(second.revision).toBe(head);
    expect(second.files?.[0]?.downloaded).toBe(false);
    expect(downloadsIn(hub)).toHaveLength(0);
    // Only the branch -> commit lookup went out.
    expect(hub.requests.map((request) => request.url.split("?")[0])).toEqual(["/api/datasets/GAIR/lima/revision/HEAD"]);
  });

  it("makes no request at all for a pinned commit that is cached", async () => {
    const sha = hub.head("dataset", "GAIR/lima")?.sha as string;
    const uri = `hf://datasets/GAIR/lima@${sha}/test.jsonl`;
    const first = await resolveSource({ uri, token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(first.revision).toBe(sha);
    hub.clearRequests();
    const second = await resolveSource({ uri, token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(second.paths).toEqual(first.paths);
    expect(hub.requests).toHaveLength(0);
  });

  it("expands braces, keeps their order, and takes every file from one commit", async () => {
    const result = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/{fr,en,de}.json.gz", cacheDir, baseUrl: hub.url, env });
    expect(result.files?.map((file) => file.pathInRepo)).toEqual(["data/fr.json.gz", "data/en.json.gz", "data/de.json.gz"]);
    for (const [index, lang] of ["fr", "en", "de"].entries()) {
      expect(sha256Of(await readFile(result.paths[index] as string))).toBe(sha256Of(bactrian(lang)));
    }
    // All downloads asked for the resolved sha, not the moving branch.
    for (const request of hub.requestsTo("/resolve/")) expect(request.url).toContain(`/resolve/${result.revision}/`);
  });

  it("records the pinned revision and keeps serving it after the branch moves", async () => {
    const old = hub.head("dataset", "MBZUAI/Bactrian-X")?.sha as string;
    const pinned = await resolveSource({ uri: `hf://datasets/MBZUAI/Bactrian-X@${old}/data/en.json.gz`, cacheDir, baseUrl: hub.url, env });
    const newer = hub.addCommit({ name: "MBZUAI/Bactrian-X", files: { "data/en.json.gz": gzipSync(Buffer.from("[]")) } });
    const latest = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X@main/data/en.json.gz", cacheDir, baseUrl: hub.url, env });
    expect(pinned.revision).toBe(old);
    expect(latest.revision).toBe(newer);
    expect(latest.requestedRevision).toBe("main");
    expect(sha256Of(await readFile(pinned.paths[0] as string))).toBe(sha256Of(bactrian("en")));
    expect(sha256Of(await readFile(latest.paths[0] as string))).toBe(sha256Of(gzipSync(Buffer.from("[]"))));
    const again = await resolveSource({ uri: `hf://datasets/MBZUAI/Bactrian-X@${old}/data/en.json.gz`, cacheDir, baseUrl: hub.url, env });
    expect(again.paths).toEqual(pinned.paths);
  });

  it("downloads LFS files through the CDN redirect without sending the token there", async () => {
    const result = await resolveSource({ uri: "hf://datasets/acme/big/big.bin", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(sha256Of(await readFile(result.paths[0] as string))).toBe(sha256Of(bigFile));
    const cdn = hub.requests.filter((request) => request.origin === "cdn");
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((request) => request.authorization === undefined)).toBe(true);
    // Downloads ask for the stored bytes, never an on-the-fly compressed variant.
    expect(downloadsIn(hub).every((request) => request.acceptEncoding === "identity")).toBe(true);
  });

  it("resumes an interrupted download with a range request and verifies the result", async () => {
    hub.dropConnection({ urlPart: "/lfs/", afterBytes: 100_000 });
    const error = await resolveSource({ uri: "hf://datasets/acme/big/big.bin", cacheDir, baseUrl: hub.url, env, retries: 0 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubNetworkError);
    const network = error as HubNetworkError;
    expect(network.kept?.bytes).toBeGreaterThan(0);
    expect(network.kept?.bytes).toBeLessThan(bigFile.length);
    expect(network.message).toMatch(/Kept \d+ of 300000 bytes in .*big\.bin\.incomplete; rerun/);
    // No cache entry for a partial file: only the .incomplete is on disk.
    expect((await listFiles(cacheDir)).filter((file) => !file.endsWith(".incomplete"))).toEqual([]);

    hub.clearRequests();
    const events: HubProgressEvent[] = [];
    const result = await resolveSource({ uri: "hf://datasets/acme/big/big.bin", cacheDir, baseUrl: hub.url, env, onProgress: (event) => events.push(event) });
    expect(sha256Of(await readFile(result.paths[0] as string))).toBe(sha256Of(bigFile));
    const downloads = events.filter((event) => event.type === "download");
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((event) => event.resumedFrom === network.kept?.bytes)).toBe(true);
    expect(downloads.at(-1)).toMatchObject({ bytes: bigFile.length, totalBytes: bigFile.length });
    expect(events.at(-1)).toMatchObject({ type: "downloaded", sha256: sha256Of(bigFile) });
    expect(hub.requests.some((request) => request.range === `bytes=${network.kept?.bytes}-${bigFile.length - 1}`)).toBe(true);
    expect((await listFiles(cacheDir)).some((file) => file.endsWith(".incomplete"))).toBe(false);
  });

  it("resumes by itself when the connection drops once (default retries)", async () => {
    hub.dropConnection({ urlPart: "/lfs/", afterBytes: 120_000 });
    const result = await resolveSource({ uri: "hf://datasets/acme/big/big.bin", cacheDir, baseUrl: hub.url, env, retryDelayMs: 0 });
    expect(sha256Of(await readFile(result.paths[0] as string))).toBe(sha256Of(bigFile));
    const ranged = hub.requests.filter((request) => request.origin === "cdn" && request.range && !request.range.startsWith("bytes=0-"));
    expect(ranged).toHaveLength(1);
  });

  it("restarts cleanly from byte 0 when the server ignores the range", async () => {
    hub.dropConnection({ urlPart: "/lfs/", afterBytes: 50_000 });
    await expect(resolveSource({ uri: "hf://datasets/acme/big/big.bin", cacheDir, baseUrl: hub.url, env, retries: 0 })).rejects.toBeInstanceOf(
      HubNetworkError,
    );
    hub.ignoreRangeAfterStart = true;
    const result = await resolveSource({ uri: "hf://datasets/acme/big/big.bin", cacheDir, baseUrl: hub.url, env });
    expect(sha256Of(await readFile(result.paths[0] as string))).toBe(sha256Of(bigFile));
  });

  it("explains a gated dataset without a token and leaves nothing in the cache", async () => {
    const error = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", cacheDir, baseUrl: hub.url, env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubGatedRepoError);
    const gated = error as HubGatedRepoError;
    expect(gated.reason).toBe("no-token");
    expect(gated.message).toContain(`${hub.url}/datasets/GAIR/lima`);
    expect(gated.message).toContain("HF_TOKEN");
    expect(gated.message).toContain("accept");
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("finds the token in HF_TOKEN or the token file", async () => {
    const home = await makeTemporaryDirectory("home");
    try {
      const viaEnv = await resolveSource({ uri: "hf://datasets/GAIR/lima/test.jsonl", cacheDir, baseUrl: hub.url, env: { HF_TOKEN: SECRET_TOKEN } });
      expect(viaEnv.paths).toHaveLength(1);
      const { mkdir, writeFile } = await import("node:fs/promises");
      await mkdir(`${home}/.cache/huggingface`, { recursive: true });
      await writeFile(`${home}/.cache/huggingface/token`, `${SECRET_TOKEN}\n`);
      const otherCache = `${cacheDir}/other`;
      const viaFile = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", cacheDir: otherCache, baseUrl: hub.url, env: {}, homeDir: home });
      expect(viaFile.paths).toHaveLength(1);
      const viaEndpoint = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", cacheDir: otherCache, env: { HF_ENDPOINT: hub.url, HF_TOKEN: SECRET_TOKEN } });
      expect(viaEndpoint.paths).toEqual(viaFile.paths);
    } finally {
      await removeDirectory(home);
    }
  });

  it("explains a gated dataset whose terms the token's account has not accepted", async () => {
    const error = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", token: READER_TOKEN, cacheDir, baseUrl: hub.url, env }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubGatedRepoError);
    expect((error as HubGatedRepoError).reason).toBe("terms-not-accepted");
    expect((error as Error).message).toContain(`${hub.url}/datasets/GAIR/lima`);
    expect((error as Error).message).not.toContain(READER_TOKEN);
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("names the repo and path of a missing file, and the repo of a missing repo", async () => {
    const missingFile = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/xx.json.gz", cacheDir, baseUrl: hub.url, env }).catch(
      (caught: unknown) => caught,
    );
    expect(missingFile).toBeInstanceOf(HubNotFoundError);
    expect((missingFile as HubNotFoundError).missing).toBe("file");
    expect((missingFile as Error).message).toContain("data/xx.json.gz");
    expect((missingFile as Error).message).toContain("MBZUAI/Bactrian-X");

    const missingRepo = await resolveSource({ uri: "hf://datasets/nobody/nothing/a.jsonl", cacheDir, baseUrl: hub.url, env }).catch(
      (caught: unknown) => caught,
    );
    expect(missingRepo).toBeInstanceOf(HubNotFoundError);
    expect((missingRepo as HubNotFoundError).missing).toBe("repo");
    expect((missingRepo as Error).message).toContain("nobody/nothing");

    const missingRevision = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X@v9/data/en.json.gz", cacheDir, baseUrl: hub.url, env }).catch(
      (caught: unknown) => caught,
    );
    expect((missingRevision as HubNotFoundError).missing).toBe("revision");
    expect((missingRevision as Error).message).toContain('"v9"');
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("says nothing was kept when the hub cannot be reached", async () => {
    const error = await resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", cacheDir, baseUrl: await closedPortUrl(), env }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubNetworkError);
    expect((error as Error).message).toContain("Nothing was kept");
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("falls back to the cached commit when offline", async () => {
    const online = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/de.json.gz", cacheDir, baseUrl: hub.url, env });
    const offline = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/de.json.gz", cacheDir, baseUrl: await closedPortUrl(), env });
    expect(offline.paths).toEqual(online.paths);
    expect(offline.revision).toBe(online.revision);
    const viaEnv = await resolveSource({ uri: "hf://datasets/MBZUAI/Bactrian-X/data/de.json.gz", cacheDir, baseUrl: hub.url, env: { HF_HUB_OFFLINE: "1" } });
    expect(viaEnv.paths).toEqual(online.paths);
  });

  it("re-downloads a cached file that was tampered with", async () => {
    const first = await resolveSource({ uri: "hf://datasets/GAIR/lima/test.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(first.paths[0] as string, limaTest.replace("prompt", "PROMPT"));
    const second = await resolveSource({ uri: "hf://datasets/GAIR/lima/test.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    expect(second.files?.[0]?.downloaded).toBe(true);
    expect(await readFile(second.paths[0] as string, "utf8")).toBe(limaTest);
  });

  it("keeps the token out of every error, its causes and its stack", async () => {
    const errors: unknown[] = [];
    const collect = (promise: Promise<unknown>) => promise.then(() => expect.fail("expected a failure"), (error: unknown) => errors.push(error));
    await collect(resolveSource({ uri: "hf://datasets/GAIR/lima/missing.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env }));
    await collect(resolveSource({ uri: "hf://datasets/nobody/nothing/a.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env }));
    await collect(resolveSource({ uri: "hf://datasets/GAIR/lima/train.jsonl", token: "hf_UnknownToken", cacheDir, baseUrl: hub.url, env }));
    hub.dropConnection({ urlPart: "/lfs/", afterBytes: 10_000 });
    await collect(resolveSource({ uri: "hf://datasets/acme/big/big.bin", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env, retries: 0 }));
    expect(errors).toHaveLength(4);
    for (const error of errors) {
      let current: unknown = error;
      for (let depth = 0; current instanceof Error && depth < 6; depth += 1) {
        expect(`${current.message}\n${current.stack}\n${JSON.stringify(current)}`).not.toContain(SECRET_TOKEN);
        expect(current.message).not.toContain("hf_UnknownToken");
        current = current.cause;
      }
    }
  });

  it("never writes the token into the cache", async () => {
    await resolveSource({ uri: "hf://datasets/GAIR/lima/{train,test}.jsonl", token: SECRET_TOKEN, cacheDir, baseUrl: hub.url, env });
    for (const file of await listFiles(cacheDir)) {
      expect(await readFile(`${cacheDir}/${file}`, "utf8")).not.toContain(SECRET_TOKEN);
    }
  });
});
