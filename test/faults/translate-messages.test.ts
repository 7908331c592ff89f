import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDeepLServer } from "../servers/deepl-server";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();
const STACK = /\n\s+at /;

async function smallLima(directory: string, extra: string[] = []): Promise<string> {
  const rows = (await readFile(join(repositoryRoot, "fixtures/lima/train.jsonl"), "utf8")).trimEnd().split("\n").slice(0, 3);
  const path = join(directory, "train.jsonl");
  await writeFile(path, [...rows, ...extra].join("\n") + "\n");
  return path;
}

describe("translation errors say what to do, once", () => {
  it("an oversized segment's HTTP 413 names the record and the message (repro: the 413 named nothing)", async () => {
    const long = "Long paragraph without a break. ".repeat(40).trim();
    const server = await startDeepLServer({ fault: ({ texts }) => (texts.some((text) => text.includes("Long paragraph")) ? { status: 413, body: { message: "Request Entity Too Large" } } : undefined) });
    const directory = await makeTemporaryDirectory();
    const input = await smallLima(directory, [JSON.stringify({ conversations: ["Summarise this.", long], source: "test" })]);
    try {
      const run = await runCliAsync(["translate", "--input", input, "--to", "de", "--provider", "deepl", "--base-url", server.url, "--cache", join(directory, "cache.jsonl"), "--out", join(directory, "out"), "--quiet"], { DEEPL_AUTH_KEY: "test-key" });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/HTTP 413/);
      expect(run.stderr).toMatch(/is in record lima-0003 \(.*train\.jsonl\) message 2/);
      expect(run.stderr).not.toMatch(STACK);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("the 456 quota message says it once and how to resume (repro: '... exceeded, message: Quota ... exceeded..')", async () => {
    const server = await startDeepLServer({ characterLimit: 300 });
    const directory = await makeTemporaryDirectory();
    const input = await smallLima(directory);
    try {
      const run = await runCliAsync(["translate", "--input", input, "--to", "de", "--provider", "deepl", "--base-url", server.url, "--cache", join(directory, "cache.jsonl"), "--out", join(directory, "out"), "--quiet", "--concurrency", "1"], { DEEPL_AUTH_KEY: "test-key" });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/quota exceeded/i);
      expect(run.stderr.match(/exceeded/gi)).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\.\./);
      expect(run.stderr).toMatch(/Run the same command again/);
    } finally {
      await server.close();
    }
  }, 60_000);
});
