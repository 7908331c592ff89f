import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startOpenAIServer } from "../servers/openai-server";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();
const STACK = /\n\s+at /;

describe("a judge run in which only some calls fail", () => {
  it("exits 1 with a summary of the failed calls and keeps the successful judgments (written, and cached for the rerun)", async () => {
    const directory = await makeTemporaryDirectory();
    const fixtures = join(repositoryRoot, "fixtures/mt-bench");
    // One question (the Alps postcard) is refused with a 400, which is not retried; the others are judged.
    let calls = 0;
    const server = await startOpenAIServer({
      handle: (body) => {
        calls += 1;
        return body.messages.some((message) => message.content.includes("Postkarte"))
          ? { status: 400, body: { error: { message: "this request was refused by the test server", type: "invalid_request_error" } } }
          : "Rating: [[7]]";
      },
    });
    const judge = () =>
      runCliAsync(
        ["mt-bench-x", "judge", "--bench", join(fixtures, "mt-bench-x"), "--answers", join(fixtures, "answers"), "--lang", "de", "--judge-model", "judge-model", "--base-url", server.baseUrl, "--out", join(directory, "out")],
        { OPENAI_API_KEY: "sk-test" },
      );
    try {
      const run = await judge();
      expect(run.status, run.stdout + run.stderr).toBe(1);
      const printed = run.stdout + run.stderr;
      expect(printed).toMatch(/(\d+) of (\d+) judge call\(s\) failed/);
      const [, failed, total] = /(\d+) of (\d+) judge call\(s\) failed/.exec(printed)!.map(Number);
      expect(failed).toBeGreaterThan(0);
      expect(failed).toBeLessThan(total!);
      // The status once: the openai client's message already starts with it ("400 this request ...").
      expect(printed).toMatch(/81_DE turn 1: judge judge-model: HTTP 400 this request was refused by the test server/);
      expect(run.stderr).not.toMatch(STACK);

      const judgmentFiles = (await readdir(join(directory, "out"), { recursive: true })).filter((name) => name.endsWith("_single.jsonl"));
      expect(judgmentFiles).toHaveLength(1);
      const judgments = (await readFile(join(directory, "out", judgmentFiles[0]!), "utf8"))
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { question_id: string; score: number; error?: string });
      expect(judgments).toHaveLength(total!);
      const scored = judgments.filter((judgment) => judgment.score === 7);
      const refused = judgments.filter((judgment) => judgment.score === -1);
      expect(refused).toHaveLength(failed!);
      expect(scored).toHaveLength(total! - failed!);
      expect(new Set(refused.map((judgment) => judgment.question_id))).toEqual(new Set(["81_DE"]));
      for (const judgment of refused) expect(judgment.error).toMatch(/^api: .*400/);

      // The rerun calls the judge again only for the failed ones: the successful ones are kept.
      const before = calls;
      const rerun = await judge();
      expect(rerun.status).toBe(1);
      expect(calls - before).toBe(failed);
    } finally {
      await server.close();
    }
  }, 120_000);
});
