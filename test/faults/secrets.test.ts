import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDeepLServer } from "../servers/deepl-server";
import { startOpenAIServer } from "../servers/openai-server";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync, type CliRun } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();

const DEEPL_KEY = "SECRETDEEPL-5a1f-771:fx";
const OPENAI_KEY = "SECRETOPENAI-93bd-12";
const SECRETS = [DEEPL_KEY, "SECRETDEEPL", OPENAI_KEY, "SECRETOPENAI", "SECRETINCONFIG"];

async function everyFile(directory: string): Promise<string[]> {
  const names = await readdir(directory, { recursive: true, withFileTypes: true });
  return names.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe("keys never reach a file or an output", () => {
  it("runs translate and judge (success, 401/403, 5xx) with distinctive keys, and finds them in nothing written or printed", async () => {
    const directory = await makeTemporaryDirectory();
    const rows = (await readFile(join(repositoryRoot, "fixtures/lima/train.jsonl"), "utf8")).trimEnd().split("\n").slice(0, 2);
    const input = join(directory, "train.jsonl");
    await writeFile(input, rows.join("\n") + "\n");
    const deepl = await startDeepLServer({ authKey: DEEPL_KEY });
    const failing = await startDeepLServer({ fault: ({ index }) => (index < 1 ? { status: 503 } : undefined) });
    const judge = await startOpenAIServer({
      handle: (_body, { headers }) =>
        headers.authorization === `Bearer ${OPENAI_KEY}` ? "Rating: [[5]]" : { status: 401, body: { error: { message: `Incorrect API key provided: ${String(headers.authorization)}` } } },
    });
    const broken = await startOpenAIServer({ handle: () => ({ status: 500, body: { error: { message: "internal error" } } }) });
    const runs: CliRun[] = [];
    const fixtures = join(repositoryRoot, "fixtures/mt-bench");
    const translate = (out: string, url: string, key: string) =>
      runCliAsync(["translate", "--input", input, "--to", "de", "--provider", "deepl", "--base-url", url, "--cache", join(directory, `${out}-cache.jsonl`), "--out", join(directory, out)], {
        DEEPL_AUTH_KEY: key,
      });
    const judgeRun = (out: string, url: string, key: string) =>
      runCliAsync(
        ["mt-bench-x", "judge", "--bench", join(fixtures, "mt-bench-x"), "--answers", join(fixtures, "answers"), "--lang", "de", "--judge-model", "judge-model", "--base-url", url, "--out", join(directory, out), "--retries", "0"],
        { OPENAI_API_KEY: key },
      );
    try {
      runs.push(await translate("deepl-ok", deepl.url, DEEPL_KEY));
      expect(runs.at(-1)!.status, runs.at(-1)!.stderr).toBe(0);
      runs.push(await translate("deepl-403", deepl.url, `${DEEPL_KEY}-wrong`));
      expect(runs.at(-1)!.status).toBe(1);
      expect(runs.at(-1)!.stderr).toMatch(/HTTP 403.*DEEPL_AUTH_KEY/);
      runs.push(await translate("deepl-503", failing.url, DEEPL_KEY));
      expect(runs.at(-1)!.status, runs.at(-1)!.stderr).toBe(0);
      runs.push(await judgeRun("judge-ok", judge.baseUrl, OPENAI_KEY));
      expect(runs.at(-1)!.status, runs.at(-1)!.stderr).toBe(0);
      runs.push(await judgeRun("judge-401", judge.baseUrl, `${OPENAI_KEY}-wrong`));
      expect(runs.at(-1)!.status).toBe(1);
      expect(runs.at(-1)!.stderr).toMatch(/HTTP 401.*OPENAI_API_KEY/);
      // Repro: every judge call fails (500) -> exit 1 with a summary, not exit 0.
      runs.push(await judgeRun("judge-500", broken.baseUrl, OPENAI_KEY));
      expect(runs.at(-1)!.status).toBe(1);
      expect(runs.at(-1)!.stdout + runs.at(-1)!.stderr).toMatch(/judge call\(s\) failed after retries/);
      // Repro: a key in a study config is rejected, naming the variable, and never published.
      const config = join(directory, "study.json");
      await writeFile(
        config,
        JSON.stringify({
          languages: ["en", "de"],
          compositions: ["EN", "DE"],
          corpora: {
            x: { translate: { input, from: "en", to: ["de"], provider: "deepl", providerOptions: { baseUrl: deepl.url, apiKey: "SECRETINCONFIG-777" } } },
          },
        }),
      );
      runs.push(await runCliAsync(["build", "--config", config, "--out", join(directory, "built")], { DEEPL_AUTH_KEY: DEEPL_KEY }));
      expect(runs.at(-1)!.status).toBe(1);
      expect(runs.at(-1)!.stderr).toMatch(/apiKey.*set DEEPL_AUTH_KEY in the environment/);
      // NODE_DEBUG=http makes Node print headers itself: the CLI warns.
      const debugRun = await runCliAsync(["translate", "--help"], { NODE_DEBUG: "http", DEEPL_AUTH_KEY: DEEPL_KEY });
      expect(debugRun.stderr).toMatch(/warning: NODE_DEBUG=http .*DEEPL_AUTH_KEY/);
      expect(debugRun.stderr).not.toContain(DEEPL_KEY);
    } finally {
      await Promise.all([deepl.close(), failing.close(), judge.close(), broken.close()]);
    }
    const printed = runs.map((run) => run.stdout + run.stderr).join("\n");
    for (const secret of SECRETS) expect(printed).not.toContain(secret);
    const files = await everyFile(directory);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      if (file.endsWith("study.json")) continue;
      const content = await readFile(file, "utf8");
      for (const secret of SECRETS) expect(content, file).not.toContain(secret);
    }
  }, 120_000);
});
