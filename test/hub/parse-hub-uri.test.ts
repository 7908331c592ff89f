import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HubUriError, expandBraces, findHubToken, isHubUri, parseHubUri, presetUri, resolveHubCacheDir, resolveHubUrl } from "../../src/hub/index";
import { makeTemporaryDirectory, removeDirectory } from "./helpers";

describe("parseHubUri", () => {
  it("parses a dataset file at the default branch", () => {
    expect(parseHubUri("hf://datasets/GAIR/lima/train.jsonl")).toEqual([
      { repo: { type: "dataset", name: "GAIR/lima" }, revision: undefined, path: "train.jsonl", uri: "hf://datasets/GAIR/lima/train.jsonl" },
    ]);
  });

  it("expands braces in order, keeping the revision on every file", () => {
    const files = parseHubUri("hf://datasets/MBZUAI/Bactrian-X@v1.0/data/{en,de,fr}.json.gz");
    expect(files.map((file) => file.path)).toEqual(["data/en.json.gz", "data/de.json.gz", "data/fr.json.gz"]);
    expect(files.every((file) => file.revision === "v1.0")).toBe(true);
    expect(files[1]?.uri).toBe("hf://datasets/MBZUAI/Bactrian-X@v1.0/data/de.json.gz");
  });

  it("reads URL-encoded revisions, models without a prefix, and spaces", () => {
    expect(parseHubUri("hf://datasets/o/n@refs%2Fconvert%2Fparquet/default/train/0000.parquet")[0]?.revision).toBe("refs/convert/parquet");
    expect(parseHubUri("hf://meta-llama/Llama-2-7b-hf/config.json")[0]?.repo).toEqual({ type: "model", name: "meta-llama/Llama-2-7b-hf" });
    expect(parseHubUri("hf://models/o/n/a.bin")[0]?.repo.type).toBe("model");
    expect(parseHubUri("hf://spaces/lmsys/mt-bench/data/mt_bench/question.jsonl")[0]).toMatchObject({
      repo: { type: "space", name: "lmsys/mt-bench" },
      path: "data/mt_bench/question.jsonl",
    });
  });

  it("rejects malformed URIs with the accepted shape in the message", () => {
    for (const [uri, fragment] of [
      ["hf://datasets/GAIR", "OWNER/NAME"],
      ["hf://datasets/GAIR/lima", "no file"],
      ["hf://datasets/GAIR/lima@/train.jsonl", "followed by a branch"],
      ["hf://dataset/GAIR/lima/train.jsonl", "plural"],
      ["hf://datasets/GAIR/lima/../secrets", '".."'],
      ["hf://datasets/GAIR/lima/data/{en,de.json.gz", "unmatched"],
      ["hf://datasets/GAIR/lima/data/*.json.gz", "glob"],
      ["/local/file.jsonl", "hf://"],
    ] as const) {
      const error = (() => {
        try {
          parseHubUri(uri);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, uri).toBeInstanceOf(HubUriError);
      expect((error as Error).message, uri).toContain(fragment);
      expect((error as Error).message).toContain("hf://datasets/OWNER/NAME");
    }
  });

  it("tells hub URIs from local paths", () => {
    expect(isHubUri("hf://datasets/GAIR/lima/train.jsonl")).toBe(true);
    expect(isHubUri("data/lima/train.jsonl")).toBe(false);
    expect(isHubUri("/abs/hf://x")).toBe(false);
  });

  it("expands several brace groups as every combination", () => {
    expect(expandBraces("{a,b}/{1,2}.txt")).toEqual(["a/1.txt", "a/2.txt", "b/1.txt", "b/2.txt"]);
    expect(expandBraces("plain.txt")).toEqual(["plain.txt"]);
  });

  it("writes preset URIs that parse back to the preset files", () => {
    expect(presetUri("bactrian-x", ["en", "de"])).toBe("hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz");
    expect(presetUri("bactrian-x", ["it"], "abc")).toBe("hf://datasets/MBZUAI/Bactrian-X@abc/data/it.json.gz");
    expect(parseHubUri(presetUri("lima")).map((file) => file.path)).toEqual(["train.jsonl", "test.jsonl"]);
    expect(presetUri("mt-bench")).toBe("hf://datasets/HuggingFaceH4/mt_bench_prompts/raw/question.jsonl");
  });
});

describe("hub credentials and locations", () => {
  it("finds the token in HF_TOKEN, then HF_TOKEN_PATH, then $HF_HOME/token, then ~/.cache/huggingface/token", async () => {
    const home = await makeTemporaryDirectory("home");
    try {
      expect(findHubToken({ env: {}, homeDir: home })).toBeUndefined();
      await mkdir(join(home, ".cache", "huggingface"), { recursive: true });
      await writeFile(join(home, ".cache", "huggingface", "token"), "hf_fromDefaultFile\n");
      expect(findHubToken({ env: {}, homeDir: home })).toEqual({ token: "hf_fromDefaultFile", from: join(home, ".cache", "huggingface", "token") });
      await mkdir(join(home, "hf-home"), { recursive: true });
      await writeFile(join(home, "hf-home", "token"), "hf_fromHfHome");
      expect(findHubToken({ env: { HF_HOME: join(home, "hf-home") }, homeDir: home })?.token).toBe("hf_fromHfHome");
      await writeFile(join(home, "explicit-token"), "hf_fromTokenPath");
      expect(findHubToken({ env: { HF_HOME: join(home, "hf-home"), HF_TOKEN_PATH: join(home, "explicit-token") }, homeDir: home })?.token).toBe(
        "hf_fromTokenPath",
      );
      expect(findHubToken({ env: { HF_TOKEN: " hf_fromEnv ", HF_HOME: join(home, "hf-home") }, homeDir: home })).toEqual({
        token: "hf_fromEnv",
        from: "HF_TOKEN",
      });
    } finally {
      await removeDirectory(home);
    }
  });

  it("takes the endpoint from the option, then HF_ENDPOINT, then huggingface.co", () => {
    expect(resolveHubUrl("http://127.0.0.1:1234/", { env: { HF_ENDPOINT: "https://mirror.example" } })).toBe("http://127.0.0.1:1234");
    expect(resolveHubUrl(undefined, { env: { HF_ENDPOINT: "https://mirror.example/" } })).toBe("https://mirror.example");
    expect(resolveHubUrl(undefined, { env: {} })).toBe("https://huggingface.co");
  });

  it("puts the cache under the option, $POLYGLOT_CACHE_DIR/hub or ~/.cache/polyglot-instruct/hub", () => {
    expect(resolveHubCacheDir({ cacheDir: "/tmp/c", env: { POLYGLOT_CACHE_DIR: "/x" } })).toBe("/tmp/c");
    expect(resolveHubCacheDir({ env: { POLYGLOT_CACHE_DIR: "/x" } })).toBe("/x/hub");
    expect(resolveHubCacheDir({ env: {}, homeDir: "/home/me" })).toBe("/home/me/.cache/polyglot-instruct/hub");
    expect(resolveHubCacheDir({ env: { XDG_CACHE_HOME: "/xdg" }, homeDir: "/home/me" })).toBe("/xdg/polyglot-instruct/hub");
  });
});
