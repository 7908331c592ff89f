import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors";
import { createOpenAICompatibleJudge } from "../../src/eval/judge/providers/openai-compatible";
import { fetchPreset, resolveSource } from "../../src/hub/index";
import { InvalidOptionsError } from "../../src/parse-options";
import { parseStudyConfig } from "../../src/study/study-config";
import { createTranslationProvider } from "../../src/translate/create-translation-provider";
import { createDeepL } from "../../src/translate/providers/deepl";
import { createGoogleTranslate } from "../../src/translate/providers/google";
import { createOpenAITranslator } from "../../src/translate/providers/openai-compatible";
import { translateDocuments } from "../../src/translate/translate-documents";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { runCliAsync } from "../faults/run-cli-async";
import { startDeepLServer } from "../servers/deepl-server";
import { startGoogleTranslateServer } from "../servers/google-translate-server";
import { startHubServer } from "../servers/hub-server";
import { startOpenAIServer } from "../servers/openai-server";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

/** The deprecation warnings emitted while `run` runs (Node delivers them on the next tick). */
async function captureDeprecations(run: () => Promise<void>): Promise<string[]> {
  const messages: string[] = [];
  const listener = (warning: Error): void => {
    if (warning.name === "DeprecationWarning") messages.push(warning.message);
  };
  process.on("warning", listener);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.removeListener("warning", listener);
  }
  return messages;
}

describe("endpoints are named baseUrl; the old names still work, with a deprecation warning", () => {
  const temporaryDirectory = useTemporaryDirectories();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  async function translateOnce(provider: ReturnType<typeof createDeepL>): Promise<string> {
    const cache = await openTranslationCache({ path: join(await temporaryDirectory(), "cache.jsonl") });
    try {
      const result = await translateDocuments({ documents: ["Good morning."], from: "en", to: "de", provider, cache });
      return result.translations[0]!;
    } finally {
      await cache.close();
    }
  }

  it("DeepL: baseUrl, and serverUrl as its old name", async () => {
    const server = await startDeepLServer({ authKey: "endpoint-test" });
    closers.push(() => server.close());
    const quiet = await captureDeprecations(async () => {
      await translateOnce(createDeepL({ apiKey: "endpoint-test", baseUrl: server.url, env: {} }));
    });
    expect(quiet).toEqual([]);
    const warned = await captureDeprecations(async () => {
      await translateOnce(createDeepL({ apiKey: "endpoint-test", serverUrl: server.url, env: {} }));
    });
    expect(warned).toEqual(['createDeepL: "serverUrl" is deprecated and will be removed; use "baseUrl" instead']);
    expect(server.requests).toHaveLength(2);
  });

  it("Google: baseUrl, and endpoint as its old name", async () => {
    const server = await startGoogleTranslateServer({ apiKey: "endpoint-test" });
    closers.push(() => server.close());
    const warned = await captureDeprecations(async () => {
      await translateOnce(createGoogleTranslate({ apiKey: "endpoint-test", baseUrl: server.url, env: {} }));
      await translateOnce(createGoogleTranslate({ apiKey: "endpoint-test", endpoint: server.url, env: {} }));
    });
    expect(warned).toEqual(['createGoogleTranslate: "endpoint" is deprecated and will be removed; use "baseUrl" instead']);
    expect(server.requests).toHaveLength(2);
  });

  it("OpenAI-compatible translator and judge: baseUrl, and baseURL as its old name", async () => {
    const server = await startOpenAIServer({ handle: () => "Guten Morgen." });
    closers.push(() => server.close());
    const warned = await captureDeprecations(async () => {
      await translateOnce(createOpenAITranslator({ apiKey: "k", baseUrl: server.baseUrl, env: {} }));
      await translateOnce(createOpenAITranslator({ apiKey: "k", baseURL: server.baseUrl, env: {} }));
      const judge = createOpenAICompatibleJudge({ model: "judge", apiKey: "k", baseURL: server.baseUrl });
      await judge.doJudge({ systemPrompt: "s", userPrompt: "u", maxTokens: 10, temperature: 0 });
    });
    expect(warned).toEqual([
      'createOpenAITranslator: "baseURL" is deprecated and will be removed; use "baseUrl" instead',
      'createOpenAICompatibleJudge: "baseURL" is deprecated and will be removed; use "baseUrl" instead',
    ]);
    expect(server.requests).toHaveLength(3);
  });

  it("rejects the old and the new name together, naming the old one", () => {
    const both = () => createDeepL({ baseUrl: "http://127.0.0.1:1", serverUrl: "http://127.0.0.1:2" });
    expect(both).toThrow(InvalidOptionsError);
    expect(both).toThrow("invalid options for createDeepL: serverUrl: the deprecated name of baseUrl; give only baseUrl");
    expect(() => createTranslationProvider({ provider: "openai", baseUrl: "http://127.0.0.1:1/v1", baseURL: "http://127.0.0.1:1/v1" })).toThrow(ConfigError);
  });

  it("study configs: providerOptions.serverUrl becomes baseUrl with a warning; both is a config error with its path", async () => {
    const study = (providerOptions: Record<string, unknown>) => ({
      corpora: { x: { translate: { input: "train.jsonl", from: "en", to: ["de"], provider: "deepl", providerOptions } } },
    });
    let parsed: ReturnType<typeof parseStudyConfig> | undefined;
    const warned = await captureDeprecations(async () => {
      parsed = parseStudyConfig(study({ serverUrl: "http://127.0.0.1:8080" }), { file: "study.json" });
    });
    expect(parsed!.corpora.x!.translate!.providerOptions).toEqual({ baseUrl: "http://127.0.0.1:8080" });
    expect(warned).toEqual(['study.json: corpora.x.translate.providerOptions: "serverUrl" is deprecated and will be removed; use "baseUrl" instead']);
    const error = (() => {
      try {
        parseStudyConfig(study({ serverUrl: "http://127.0.0.1:8080", baseUrl: "http://127.0.0.1:8081" }));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: "corpora.x.translate.providerOptions.serverUrl", message: "the deprecated name of baseUrl; give only baseUrl" },
    ]);
  });

  it("CLI: --base-url, and the hidden --server-url with a warning; both at once is a usage error", async () => {
    const server = await startDeepLServer({ authKey: "endpoint-test" });
    closers.push(() => server.close());
    const directory = await temporaryDirectory();
    const rows = (await readFile(join(repositoryRoot, "fixtures/lima/train.jsonl"), "utf8")).split("\n").slice(0, 1);
    const input = join(directory, "train.jsonl");
    await writeFile(input, rows.join("\n") + "\n");
    const translate = (out: string, flags: string[]) =>
      runCliAsync(["translate", "--input", input, "--to", "de", "--cache", join(directory, `${out}.jsonl`), "--out", join(directory, out), "--quiet", ...flags], {
        DEEPL_AUTH_KEY: "endpoint-test",
      });

    const current = await translate("new", ["--base-url", server.url]);
    expect(current.status, current.stderr).toBe(0);
    expect(current.stderr).not.toMatch(/deprecated/i);
    const sentWithNewName = server.requests.length;
    expect(sentWithNewName).toBeGreaterThan(0);

    const old = await translate("old", ["--server-url", server.url]);
    expect(old.status, old.stderr).toBe(0);
    expect(old.stderr).toContain('DeprecationWarning: build-datasets: "--server-url" is deprecated and will be removed; use "--base-url" instead');
    expect(server.requests.length).toBe(2 * sentWithNewName);

    const both = await translate("both", ["--base-url", server.url, "--server-url", server.url]);
    expect(both.status).toBe(2);
    expect(both.stderr.trim()).toBe("build-datasets: --server-url is the deprecated name of --base-url: give only --base-url");

    const help = await runCliAsync(["translate", "--help"]);
    expect(help.stdout).toContain("--base-url <url>");
    expect(help.stdout).not.toContain("--server-url");
  });

  it("hub: baseUrl, and hubUrl as its old name; both at once is an options error", async () => {
    const hub = await startHubServer();
    closers.push(() => hub.close());
    hub.addRepo({ name: "HuggingFaceH4/mt_bench_prompts", files: { "raw/question.jsonl": '{"question_id": 81, "turns": ["Hi."]}\n' } });
    const uri = "hf://datasets/HuggingFaceH4/mt_bench_prompts/raw/question.jsonl";
    // HF_ENDPOINT points nowhere: only the option can have reached the test hub.
    const env = { HF_ENDPOINT: "http://127.0.0.1:1" };
    const quiet = await captureDeprecations(async () => {
      await resolveSource({ uri, baseUrl: hub.url, cacheDir: await temporaryDirectory(), env });
    });
    expect(quiet).toEqual([]);
    const warned = await captureDeprecations(async () => {
      const old = await resolveSource({ uri, hubUrl: hub.url, cacheDir: await temporaryDirectory(), env });
      expect(old.paths).toHaveLength(1);
      await fetchPreset({ preset: "mt-bench", outDir: await temporaryDirectory(), hubUrl: hub.url, cacheDir: await temporaryDirectory(), env });
    });
    expect(warned).toEqual([
      'resolveSource: "hubUrl" is deprecated and will be removed; use "baseUrl" instead',
      'fetchPreset: "hubUrl" is deprecated and will be removed; use "baseUrl" instead',
    ]);
    const both = resolveSource({ uri, baseUrl: hub.url, hubUrl: hub.url, cacheDir: await temporaryDirectory(), env });
    await expect(both).rejects.toThrow(InvalidOptionsError);
    await expect(resolveSource({ uri, baseUrl: hub.url, hubUrl: hub.url, env })).rejects.toThrow(
      "invalid options for resolveSource: hubUrl: the deprecated name of baseUrl; give only baseUrl",
    );
  });

  it("hub CLI: --base-url, and the hidden --hub-url with a warning; both at once is a usage error", async () => {
    const hub = await startHubServer();
    closers.push(() => hub.close());
    hub.addRepo({ name: "HuggingFaceH4/mt_bench_prompts", files: { "raw/question.jsonl": '{"question_id": 81, "turns": ["Hi."]}\n' } });
    const directory = await temporaryDirectory();
    const env = { HF_ENDPOINT: "http://127.0.0.1:1", POLYGLOT_CACHE_DIR: join(directory, "cache"), HF_TOKEN: "" };
    const fetchWith = (out: string, flags: string[]) => runCliAsync(["fetch", "mt-bench", "--out", join(directory, out), "--quiet", ...flags], env);

    const current = await fetchWith("new", ["--base-url", hub.url]);
    expect(current.status, current.stderr).toBe(0);
    expect(current.stderr).not.toMatch(/deprecated/i);
    expect(await readFile(join(directory, "new", "mt-bench", "question.jsonl"), "utf8")).toContain('"question_id": 81');

    const old = await fetchWith("old", ["--hub-url", hub.url]);
    expect(old.status, old.stderr).toBe(0);
    expect(old.stderr).toContain('DeprecationWarning: build-datasets: "--hub-url" is deprecated and will be removed; use "--base-url" instead');
    expect(await readFile(join(directory, "old", "mt-bench", "question.jsonl"), "utf8")).toContain('"question_id": 81');

    const both = await fetchWith("both", ["--base-url", hub.url, "--hub-url", hub.url]);
    expect(both.status).toBe(2);
    expect(both.stderr.trim()).toBe("build-datasets: --hub-url is the deprecated name of --base-url: give only --base-url");

    for (const command of ["fetch", "push", "push-adapter"]) {
      const help = await runCliAsync([command, "--help"]);
      expect(help.stdout).toContain("--base-url <url>");
      expect(help.stdout).not.toContain("--hub-url");
    }
  });
});
