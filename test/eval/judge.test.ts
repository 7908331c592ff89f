import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RemoteCallError } from "../../src/remote/index";
import {
  buildJudgePrompt,
  createOpenAICompatibleJudge,
  fillPromptTemplate,
  judgeMtBench,
  MissingJudgeApiKeyError,
  openJudgeCache,
  parseJudgmentScore,
  readJudgePrompts,
  readJudgments,
  readLanguageExceptions,
  readModelAnswers,
  readQuestions,
  selectJudgePromptName,
  writeMtBenchReport,
  type JudgeMtBenchOptions,
} from "../../src/eval/index";
import { startOpenAIServer, type OpenAIServer, type OpenAIServerReply } from "../servers/openai-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixtures = join(repoRoot, "fixtures/mt-bench");
const bench = join(fixtures, "mt-bench-x");
const answers = join(fixtures, "answers");
const API_KEY = "test-only-judge-key-SECRET-0123456789";
const servers: OpenAIServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-judge-", removeAfter: "all" });

/** A deterministic judge: the score depends only on the prompt. */
function deterministicScore(userPrompt: string): number {
  let sum = 0;
  for (const character of userPrompt) sum = (sum + character.codePointAt(0)!) % 997;
  return (sum % 10) + 1;
}

async function startJudgeServer(handle?: (userPrompt: string, index: number) => OpenAIServerReply | Promise<OpenAIServerReply>): Promise<OpenAIServer> {
  const server = await startOpenAIServer({
    handle: (body, { index }) => {
      const userPrompt = body.messages.find((message) => message.role === "user")?.content ?? "";
      return handle ? handle(userPrompt, index) : `Solid answer. Rating: [[${deterministicScore(userPrompt)}]]`;
    },
  });
  servers.push(server);
  return server;
}

function runOptions(server: OpenAIServer, out: string, extra: Partial<JudgeMtBenchOptions> = {}): JudgeMtBenchOptions {
  return {
    bench,
    answers,
    out,
    provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: API_KEY }),
    concurrency: 3,
    retry: { retries: 3, minBackoffMs: 1, maxBackoffMs: 5 },
    now: () => 1_750_000_000,
    ...extra,
  };
}

describe("FastChat prompt and score parsing", () => {
  it("parses [[N]] first, then [N], like FastChat's regexes", () => {
    expect(parseJudgmentScore("Good. Rating: [[8]]")).toBe(8);
    expect(parseJudgmentScore("Bewertung: [[8.5]].")).toBe(8.5);
    expect(parseJudgmentScore("Score [7] then [[3]]")).toBe(3);
    expect(parseJudgmentScore("Rating: [6]")).toBe(6);
    expect(parseJudgmentScore("[[10]] and later [[2]]")).toBe(10);
    expect(parseJudgmentScore("I would give it an eight.")).toBeNull();
    expect(parseJudgmentScore("Rating: [[ 8 ]]")).toBeNull();
  });

  it("fills templates like Python str.format", () => {
    expect(fillPromptTemplate("{{x}} {a} {b}", { a: "{answer}", b: "}}" })).toBe("{x} {answer} }}");
    expect(() => fillPromptTemplate("{question} {answer}", { question: "q" })).toThrow(/\{answer\} has no value/);
  });

  it("selects FastChat's prompts and fills turn 2 of a coding question with the references", async () => {
    expect(selectJudgePromptName("writing", 1)).toBe("single-v1");
    expect(selectJudgePromptName("coding", 2)).toBe("single-math-v1-multi-turn");
    expect(selectJudgePromptName("reasoning", 1)).toBe("single-math-v1");
    const questions = await readQuestions(join(fixtures, "mt_bench/question.jsonl"));
    const prompts = await readJudgePrompts(join(fixtures, "mt_bench/judge_prompts.jsonl"));
    const references = await readModelAnswers(join(fixtures, "mt_bench/reference_answer/gpt-4.jsonl"));
    const question = questions.find((item) => item.question_id === 121)!;
    const answer = { question_id: 121, model_id: "m", choices: [{ index: 0, turns: ["first {answer}", "second"] }] };
    const built = buildJudgePrompt({ question, answer, turn: 2, prompts, reference: references.find((item) => item.question_id === 121)!.choices[0]!.turns });
    expect(built.promptName).toBe("single-math-v1-multi-turn");
    expect(built.systemPrompt).toBe(prompts.get("single-math-v1-multi-turn")!.system_prompt);
    expect(built.userPrompt).toContain("### User:\nWrite a Python function that counts the words in a text.\n\n### Reference answer:\nSplit on whitespace:");
    expect(built.userPrompt).toContain("### Assistant A:\nfirst {answer}\n\n### User:\nMake it ignore case when counting each word.\n\n### Assistant A:\nsecond\n\n<|The End");
  });
});

describe("judgeMtBench against a local OpenAI-compatible server", () => {
  it("sends FastChat's messages and writes FastChat's judgment format with the extra fields", async () => {
    const server = await startJudgeServer();
    const out = await makeTemporaryDirectory();
    const exceptions = await readLanguageExceptions(join(fixtures, "language-exceptions.jsonl"));
    const summary = await judgeMtBench(
      runOptions(server, out, { languageExceptions: exceptions, prices: { inputPerMillion: 30, outputPerMillion: 60 } }),
    );
    // 2 DE models + 1 EN model, 3 questions, 2 turns.
    expect(summary.judgments).toBe(18);
    expect(summary.calls).toBe(18);
    expect(server.requests).toHaveLength(18);
    const first = server.requests[0]!;
    expect(first.body).toMatchObject({ model: "judge-model", temperature: 0, max_tokens: 2048, n: 1 });
    expect(first.body.messages.map((message) => message.role)).toEqual(["system", "user"]);
    expect(first.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(summary.usage).toEqual({ inputTokens: 180, outputTokens: 180, cost: (180 * 30 + 180 * 60) / 1e6 });

    const de = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    expect(de).toHaveLength(12);
    const row = de.find((item) => item.model === "lima-x-ENDEFRITES" && item.question_id === "121_DE" && item.turn === 2)!;
    expect(Object.keys(row).slice(0, 8)).toEqual(["question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"]);
    expect(row.judge).toEqual(["judge-model", "single-math-v1-multi-turn"]);
    expect(row.user_prompt).toContain("### Referenzantwort:\nAn Leerzeichen trennen:");
    expect(row.score).toBe(deterministicScore(row.user_prompt));
    expect(row).toMatchObject({ lang: "DE", category: "coding", language_mismatch: false, answer_language: "de", cached: false, tstamp: 1_750_000_000 });

    // The English answers of lima-x-DE are flagged, except turn 2 of question 81 (exception file).
    expect(summary.languageMismatches).toEqual([
      { lang: "DE", model: "lima-x-DE", questionId: "81_DE", turn: 1, detected: "en", penalized: false },
    ]);
    const flagged = de.find((item) => item.model === "lima-x-DE" && item.question_id === "81_DE" && item.turn === 1)!;
    expect(flagged.score).toBe(deterministicScore(flagged.user_prompt));
    const summaryFile = JSON.parse(await readFile(join(out, "judge-summary.json"), "utf8"));
    expect(summaryFile.judgments).toBe(18);

    // The report reads what the judge wrote.
    const reportOut = await makeTemporaryDirectory();
    const { report } = await writeMtBenchReport({ judgments: out, out: reportOut });
    expect(report.languages).toEqual(["DE", "EN"]);
    expect(report.fastchat.find((line) => line.model === "lima-x-DE")!.languageMismatches).toBe(1);
  });

  it("penalises answers in the wrong language with --language-policy penalize", async () => {
    const server = await startJudgeServer(() => "Rating: [[9]]");
    const out = await makeTemporaryDirectory();
    const summary = await judgeMtBench(runOptions(server, out, { languagePolicy: "penalize", languages: ["de"], models: ["lima-x-DE"] }));
    expect(summary.judgments).toBe(6);
    const rows = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    const penalised = rows.filter((row) => row.language_penalized);
    // Without the exception file, both English turns of question 81 are penalised.
    expect(penalised.map((row) => [row.question_id, row.turn, row.score, row.raw_score])).toEqual([
      ["81_DE", 1, 1, 9],
      ["81_DE", 2, 1, 9],
    ]);
    expect(rows.filter((row) => !row.language_penalized).every((row) => row.score === 9)).toBe(true);
  });

  it("keeps unparseable judgments as errors, never re-calls them unless asked, and fixes them with retryErrors", async () => {
    let malformed = true;
    const server = await startJudgeServer((userPrompt) =>
      malformed && userPrompt.includes("Alpen") ? "A fine postcard, I would give it an eight." : "Rating: [[7]]",
    );
    const out = await makeTemporaryDirectory();
    const options = runOptions(server, out, { languages: ["DE"] });
    const first = await judgeMtBench(options);
    // Question 81 (both turns mention the Alps in the German prompt) for 2 models.
    expect(first.errors.map((error) => [error.model, error.questionId, error.turn, error.error])).toEqual([
      ["lima-x-DE", "81_DE", 1, "unparseable"],
      ["lima-x-DE", "81_DE", 2, "unparseable"],
      ["lima-x-ENDEFRITES", "81_DE", 1, "unparseable"],
      ["lima-x-ENDEFRITES", "81_DE", 2, "unparseable"],
    ]);
    const rows = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    expect(rows.filter((row) => row.score === -1).every((row) => row.error === "unparseable" && row.judgment.includes("eight"))).toBe(true);

    const rerun = await judgeMtBench(options);
    expect(rerun.calls).toBe(0);
    expect(rerun.cacheHits).toBe(12);
    expect(rerun.errors).toHaveLength(4);

    malformed = false;
    const requestsBefore = server.requests.length;
    const retried = await judgeMtBench({ ...options, retryErrors: true });
    expect(retried.calls).toBe(4);
    expect(server.requests.length - requestsBefore).toBe(4);
    expect(retried.errors).toEqual([]);
    const fixed = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    expect(fixed.every((row) => row.score === 7)).toBe(true);
  });

  it("retries 429 (honouring Retry-After) and 5xx, and records an API error when retries run out", async () => {
    const failures = new Map<string, number>();
    const server = await startJudgeServer((userPrompt) => {
      const seen = failures.get(userPrompt) ?? 0;
      failures.set(userPrompt, seen + 1);
      if (userPrompt.includes("Haiku")) return { status: 503 };
      if (seen === 0) return { status: 429, headers: { "retry-after-ms": "5" }, body: { error: { message: "slow down", type: "rate_limit" } } };
      if (seen === 1) return { status: 500 };
      return "Rating: [[6]]";
    });
    const out = await makeTemporaryDirectory();
    const summary = await judgeMtBench(runOptions(server, out, { languages: ["DE"], models: ["lima-x-ENDEFRITES"] }));
    expect(summary.judgments).toBe(6);
    // Turn 2 of question 81 mentions the haiku: 1 + 3 retries, all 503.
    expect(summary.errors).toEqual([
      { lang: "DE", model: "lima-x-ENDEFRITES", questionId: "81_DE", turn: 2, error: expect.stringMatching(/^api: judge judge-model: HTTP 503/) },
    ]);
    expect(server.requests).toHaveLength(5 * 3 + 4);
    const rows = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    expect(rows.find((row) => row.score === -1)!.judgment).toBe("$ERROR$");
    expect(rows.filter((row) => row.score === 6)).toHaveLength(5);
  });

  it("stops on bad credentials without leaking the key, and never writes the key anywhere", async () => {
    const server = await startJudgeServer(() => ({ status: 401, body: { error: { message: "Incorrect API key provided", type: "invalid_request_error" } } }));
    const out = await makeTemporaryDirectory();
    const error = await judgeMtBench(runOptions(server, out, { languages: ["EN"] })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteCallError);
    expect((error as RemoteCallError).statusCode).toBe(401);
    expect((error as Error).message).toMatch(/HTTP 401.*check the OPENAI_API_KEY environment variable/);
    expect((error as Error).message).not.toContain(API_KEY);
    expect(server.requests.length).toBeLessThanOrEqual(3);

    const missing = await judgeMtBench({
      ...runOptions(server, out),
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKeyEnv: "JUDGE_KEY_FOR_TEST", env: {} }),
    }).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(MissingJudgeApiKeyError);
    expect((missing as Error).message).toContain("JUDGE_KEY_FOR_TEST");

    const okServer = await startJudgeServer();
    const okOut = await makeTemporaryDirectory();
    await judgeMtBench(runOptions(okServer, okOut));
    for (const file of ["judge-cache.jsonl", "judge-summary.json", "mt_bench_DE/model_judgment/judge-model_single.jsonl"]) {
      expect(await readFile(join(okOut, file), "utf8")).not.toContain(API_KEY);
    }
  });

  it("judges FastChat's English layout with flat answer files and numeric ids", async () => {
    const server = await startJudgeServer();
    const directory = await makeTemporaryDirectory();
    const english = await readModelAnswers(join(answers, "mt_bench_EN/model_answer/lima-x-ENDEFRITES.jsonl"));
    await writeFile(
      join(directory, "vicuna-7b.jsonl"),
      english.map((answer) => JSON.stringify({ ...answer, question_id: Number(String(answer.question_id).split("_")[0]), model_id: "vicuna-7b" })).join("\n") + "\n",
    );
    const out = await makeTemporaryDirectory();
    const summary = await judgeMtBench(runOptions(server, out, { bench: join(fixtures, "mt_bench"), answers: directory, lang: "en" }));
    expect(summary).toMatchObject({ judgments: 6, calls: 6, models: ["vicuna-7b"], languages: ["EN"] });
    const rows = await readJudgments(join(out, "mt_bench_EN/model_judgment/judge-model_single.jsonl"));
    expect(rows.map((row) => [row.question_id, row.turn, row.judge[1]])).toEqual([
      [81, 1, "single-v1"],
      [81, 2, "single-v1-multi-turn"],
      [101, 1, "single-math-v1"],
      [101, 2, "single-math-v1-multi-turn"],
      [121, 1, "single-math-v1"],
      [121, 2, "single-math-v1-multi-turn"],
    ]);
    expect(rows[2]!.user_prompt).toContain("[The Start of Reference Answer]\nThe trip takes 2 hours 30 minutes.\n[The End of Reference Answer]");
  });

  it("counts without calling in a dry run", async () => {
    const server = await startJudgeServer();
    const out = await makeTemporaryDirectory();
    const dry = await judgeMtBench(runOptions(server, out, { dryRun: true }));
    expect(dry).toMatchObject({ judgments: 18, toCall: 18, calls: 0, cacheHits: 0 });
    expect(server.requests).toHaveLength(0);
    expect(existsSync(join(out, "judge-summary.json"))).toBe(false);
    expect(existsSync(join(out, "judge-cache.jsonl"))).toBe(false);
  });
});

describe("judge cache", () => {
  const entry = { key: "a".repeat(64), judge_model: "j", judgment: "Rating: [[5]]", input_tokens: 1, output_tokens: 2, tstamp: 1 };

  it("ignores a torn last line and cuts it off before the next append", async () => {
    const directory = await makeTemporaryDirectory();
    const path = join(directory, "cache.jsonl");
    await writeFile(path, JSON.stringify(entry) + "\n" + '{"key":"bbbb", "judgm');
    const cache = await openJudgeCache({ path });
    expect(cache.size).toBe(1);
    await cache.add({ ...entry, key: "c".repeat(64) });
    await cache.close();
    expect((await readFile(path, "utf8")).split("\n")).toEqual([JSON.stringify(entry), JSON.stringify({ ...entry, key: "c".repeat(64) }), ""]);
    const reopened = await openJudgeCache({ path });
    expect(reopened.size).toBe(2);
    expect(reopened.get("c".repeat(64))?.judgment).toBe("Rating: [[5]]");
    await reopened.close();
  });

  it("names the file and line of a damaged line in the middle", async () => {
    const directory = await makeTemporaryDirectory();
    const path = join(directory, "cache.jsonl");
    await writeFile(path, JSON.stringify(entry) + "\n{not json\n" + JSON.stringify({ ...entry, key: "c".repeat(64) }) + "\n");
    await expect(openJudgeCache({ path })).rejects.toThrow(`${path}:2: not a judge cache entry (invalid JSON)`);
  });
});

describe("resume after a kill", () => {
  it("calls the judge only for the judgments still missing", async () => {
    const answeredBeforeKill = 5;
    const hang = new Promise<never>(() => {});
    const first = await startJudgeServer((userPrompt, index) => (index < answeredBeforeKill ? `Rating: [[${deterministicScore(userPrompt)}]]` : hang));
    const out = await makeTemporaryDirectory();
    const cachePath = join(out, "judge-cache.jsonl");
    // node --import tsx, not the tsx binary: a SIGKILL must hit the process that judges, not a wrapper.
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/eval/judge-child.ts"), bench, answers, out, first.baseUrl], {
      cwd: repoRoot,
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
    // Wait until the child has cached every answer it got, then kill it mid-run.
    for (;;) {
      const text = existsSync(cachePath) ? await readFile(cachePath, "utf8") : "";
      if (text.split("\n").filter((line) => line.endsWith("}")).length >= answeredBeforeKill) break;
      if (child.exitCode !== null) throw new Error(`child exited early with ${child.exitCode}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(join(out, "judge-summary.json"))).toBe(false);

    const second = await startJudgeServer();
    const summary = await judgeMtBench({ ...runOptions(second, out), provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: second.baseUrl, apiKey: API_KEY }) });
    expect(summary.judgments).toBe(18);
    expect(summary.cacheHits).toBe(answeredBeforeKill);
    expect(second.requests).toHaveLength(18 - answeredBeforeKill);
    expect(summary.calls).toBe(18 - answeredBeforeKill);
    const rows = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-model_single.jsonl"));
    expect(rows.every((row) => row.score === deterministicScore(row.user_prompt))).toBe(true);
  });
});

describe("prompts as FastChat filled them", () => {
  const realX = resolve(repoRoot, "../shared/reference-data/mt_bench_x");
  it.skipIf(!existsSync(realX))(
    "rebuilds the user prompts of the real MT-Bench-X judgments byte for byte (skipped when ../shared/reference-data is absent)",
    async () => {
      let checked = 0;
      for (const lang of ["EN", "DE"]) {
        const directory = join(realX, `mt_bench_${lang}`);
        const questions = await readQuestions(join(directory, "question.jsonl"));
        const prompts = await readJudgePrompts(join(directory, "judge_prompts.jsonl"));
        for (const judgment of await readJudgments(join(directory, "model_judgment/gpt-4_single.jsonl"))) {
          if (judgment.score === -1) continue;
          const question = questions.find((item) => item.question_id === judgment.question_id)!;
          const template = prompts.get(judgment.judge[1])!.prompt_template;
          // Template -> regex: each {name} captures, a repeated one must match the same text.
          const names: string[] = [];
          const pattern = template.split(/(\{[a-z_0-9]+\})/).map((part) => {
            const name = /^\{([a-z_0-9]+)\}$/.exec(part)?.[1];
            if (!name) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            if (names.includes(name)) return `\\k<${name}>`;
            names.push(name);
            return `(?<${name}>[\\s\\S]*?)`;
          });
          const groups = new RegExp(`^${pattern.join("")}$`).exec(judgment.user_prompt)!.groups!;
          const turns = judgment.turn === 1 ? [groups.answer!] : [groups.answer_1!, groups.answer_2!];
          const built = buildJudgePrompt({
            question,
            answer: { question_id: question.question_id, model_id: judgment.model, choices: [{ index: 0, turns }] },
            turn: judgment.turn as 1 | 2,
            prompts,
          });
          expect(built.promptName).toBe(judgment.judge[1]);
          expect(built.userPrompt).toBe(judgment.user_prompt);
          checked += 1;
        }
      }
      expect(checked).toBe(32);
    },
  );
});

