import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitEngine } from "../../src/cli/commands/generate";
import { runCli } from "../../src/cli/main";
import { pythonModuleCommand } from "../../src/cli/python-launcher";
import { loadAnswerFiles } from "../../src/eval/judge/load-judge-inputs";
import { answerMtBenchWithServer, GenerationFailedError, temperatureForCategory } from "../../src/eval/generate/answer-with-server";
import { createTrainerPromptRenderer, type PromptRenderer } from "../../src/eval/generate/prompt-renderer";
import { readQuestions, type MtBenchQuestion } from "../../src/eval/mt-bench-files";
import { startOpenAIServer } from "../servers/openai-server";
import { completionText, startCompletionsServer, type CompletionRequestLog, type CompletionsServer } from "../servers/openai-completions-server";
import { requirePython } from "../support/python";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repositoryRoot = resolve(import.meta.dirname, "..", "..");
const BENCH = resolve(repositoryRoot, "../shared/reference-data/mt_bench_x");
const LANGUAGES = ["DE", "FR"];
const RUNS = ["ENDEFRITES", "DE", "FR", "IT", "ES"];
let python: string;

/** 429 (with Retry-After: 0) and 503 now and then, as a loaded vLLM answers. */
function sometimesBusy(index: number): { status: number; retryAfter?: string } | undefined {
  if (index % 13 === 5) return { status: 429, retryAfter: "0" };
  if (index % 17 === 9) return { status: 503 };
  return undefined;
}

describe("generate --engine openai against a local completions server", () => {
  let root: string;
  let model: string;
  let runs: string;
  let renderer: PromptRenderer;
  const questions = new Map<string, MtBenchQuestion[]>();

  // The tiny model and the runs are made once and shared by the tests: removed after all of them.
  const sharedDirectory = useTemporaryDirectories({ prefix: "generate-server-", removeAfter: "all" });
  beforeAll(async () => {
    python = requirePython(["polyglot_trainer", "pyarrow"]);
    root = await sharedDirectory();
    model = join(root, "model");
    const env = { ...process.env, POLYGLOT_PYTHON: python, TOKENIZERS_PARALLELISM: "false" };
    // The tiny tokenizer learns its vocabulary from a few canonical records.
    const data = join(root, "records.jsonl");
    const words = "Ein Gespräch zwischen einem Menschen und einem Assistenten System User Assistant Une conversation entre un humain";
    writeFileSync(data, Array.from({ length: 20 }, (_, index) => JSON.stringify({ id: `r${index}`, lang: "de", source: "test", messages: [{ role: "user", content: `${words} ${index}?` }, { role: "assistant", content: `${words.split(" ").reverse().join(" ")} ${index}.` }], meta: {} }) + "\n").join(""));
    const make = pythonModuleCommand({ module: "polyglot_trainer", args: ["make-tiny-model", "--data", data, "--out", model, "--vocab-size", "300", "--hidden-size", "32", "--layers", "1"], env });
    execFileSync(make.python, make.args, { env: make.env, stdio: "pipe" });
    runs = join(root, "runs");
    RUNS.forEach((name, index) => {
      mkdirSync(join(runs, name), { recursive: true });
      writeFileSync(join(runs, name, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"] }));
      // One run with its own system message: the prompts are rendered per adapter.
      writeFileSync(join(runs, name, "training_config.json"), JSON.stringify({ chat_template: "opengptx", ...(index === 1 ? { system_messages: { DE: "Antworte knapp." } } : {}) }));
    });
    mkdirSync(join(runs, "not-a-run"));
    process.env.POLYGLOT_PYTHON = python;
    renderer = createTrainerPromptRenderer(pythonModuleCommand({ module: "polyglot_trainer", args: ["render-prompts", "--model", model], env }));
    for (const lang of LANGUAGES) questions.set(lang, await readQuestions(join(BENCH, `mt_bench_${lang}`, "question.jsonl")));
  }, 300_000);

  afterAll(async () => {
    await renderer?.close();
  });

  it(
    "answers 5 adapters x 2 languages x 80 questions; killed midway and rerun, asks nothing twice; FastChat files the judge reads",
    async () => {
      const out = join(root, "answers");
      const adapters = RUNS.map((name) => ({ path: join(runs, name), servedName: name }));
      // Run 1: the server is killed when the first request after the 300th answer arrives.
      let answeredBeforeKill = 0;
      let first: CompletionsServer | undefined = undefined;
      first = await startCompletionsServer({
        models: ["model", ...RUNS],
        fault: (index) => {
          if (answeredBeforeKill < 300) return sometimesBusy(index);
          void first!.close();
          return { drop: true };
        },
        onAnswered: (answered) => {
          answeredBeforeKill = answered;
        },
      });
      const fastRetry = { retries: 4, minBackoffMs: 0, maxBackoffMs: 0 };
      await expect(
        answerMtBenchWithServer({ bench: BENCH, out, languages: LANGUAGES, adapters, baseUrl: first.baseUrl, concurrency: 16, retry: fastRetry, renderer }),
      ).rejects.toThrow(GenerationFailedError);
      const firstRun = first.requests;
      expect(firstRun.filter((request) => request.status === 200)).toHaveLength(300);
      // Questions were sent question by question across adapters, not adapter by adapter.
      expect(new Set(firstRun.slice(0, 10).map((request) => request.body.model))).toEqual(new Set(RUNS));

      // What the kill left: finished questions, and first turns of unfinished ones.
      const finished = new Set<string>();
      const firstTurnsKept = new Set<string>();
      for (const name of RUNS) {
        for (const lang of LANGUAGES) {
          const answers = join(out, `mt_bench_${lang}`, "model_answer", `${name}.jsonl`);
          if (existsSync(answers)) for (const line of readFileSync(answers, "utf8").split("\n").filter(Boolean)) finished.add(`${name}/${JSON.parse(line).question_id}`);
          const kept = join(out, ".generate", name, `${lang}.first-turns.jsonl`);
          if (existsSync(kept)) for (const line of readFileSync(kept, "utf8").split("\n").filter(Boolean)) firstTurnsKept.add(`${name}/${JSON.parse(line).question_id}`);
        }
      }
      expect(finished.size).toBeGreaterThan(0);
      expect(finished.size).toBeLessThan(800);

      // Run 2, through the CLI: asks only what is missing.
      const second = await startCompletionsServer({ models: ["model", ...RUNS], fault: sometimesBusy });
      const code = await runCli([
        "generate", "--engine", "openai", "--model", model, "--runs", runs, "--bench", BENCH, "--lang", "de,fr", "--out", out,
        "--base-url", second.baseUrl, "--concurrency", "64", "--quiet",
      ]);
      await second.close();
      expect(code).toBe(0);
      const secondRun = second.requests;

      const all: CompletionRequestLog[] = [...firstRun, ...secondRun].filter((request) => request.status === 200);
      const bySeed = new Map(all.map((request) => [`${request.body.model}/${request.body.seed}`, request]));
      const files = await loadAnswerFiles({ answers: out });
      expect(files.map((file) => `${file.lang}/${file.model}`).sort()).toEqual(LANGUAGES.flatMap((lang) => RUNS.map((name) => `${lang}/${name}`)).sort());
      let turnsChecked = 0;
      for (const file of files) {
        const bench = questions.get(file.lang)!;
        expect(file.answers.map((answer) => answer.question_id)).toEqual(bench.map((question) => question.question_id));
        for (const [index, answer] of file.answers.entries()) {
          const question = bench[index]!;
          expect(answer.model_id).toBe(file.model);
          const generation = (answer as unknown as { generation: { seeds: number[]; served_model: string } }).generation;
          expect(generation.served_model).toBe(file.model);
          const turns = answer.choices[0]!.turns;
          expect(turns).toHaveLength(2);
          const prompts: number[][] = [];
          for (const [turn, text] of turns.entries()) {
            const request = bySeed.get(`${file.model}/${generation.seeds[turn]}`)!;
            expect(request, `${file.model} ${String(answer.question_id)} turn ${turn + 1}`).toBeDefined();
            expect(request.body.temperature).toBe(temperatureForCategory(question.category));
            expect(request.body).toMatchObject({ max_tokens: 1024, top_p: 1, top_k: -1, repetition_penalty: 1, skip_special_tokens: true });
            expect(request.body.stop_token_ids).toEqual([2]); // the tiny tokenizer's </s>, opengptx's end of turn
            expect(text).toBe(completionText(file.model, request.body.prompt).trim());
            prompts.push(request.body.prompt as number[]);
            turnsChecked += 1;
          }
          // The second prompt holds the first turn and its answer: it extends the first prompt.
          expect(prompts[1]!.slice(0, prompts[0]!.length)).toEqual(prompts[0]);
        }
      }
      expect(turnsChecked).toBe(5 * 2 * 80 * 2);

      // No question asked twice: every answer the first run received was kept (finished questions, or
      // first turns under .generate/), so the rerun asks none of them again, and nothing got two answers.
      const promptKey = (request: CompletionRequestLog): string => `${request.body.model}/${(request.body.prompt as number[]).join(",")}`;
      const answeredFirst = new Set(firstRun.filter((request) => request.status === 200).map(promptKey));
      expect(secondRun.filter((request) => answeredFirst.has(promptKey(request)))).toEqual([]);
      const answeredKeys = all.map(promptKey);
      expect(new Set(answeredKeys).size).toBe(answeredKeys.length);
      expect(answeredKeys).toHaveLength(5 * 2 * 80 * 2);
      expect(firstTurnsKept.size).toBeGreaterThan(0);
      expect(existsSync(join(out, ".generate"))).toBe(false);
      expect(await readdir(out)).toEqual(expect.arrayContaining(["mt_bench_DE", "mt_bench_FR"]));
    },
    600_000,
  );

  it("--serve vllm starts the engine with every adapter, answers through it, passes arguments after -- and stops it; judge reads the answers", async () => {
    const bin = join(root, "bin");
    mkdirSync(bin);
    const record = join(root, "vllm-args.json");
    writeFileSync(join(bin, "vllm"), `#!/bin/sh\nexec "${process.execPath}" "${join(repositoryRoot, "test/servers/fake-vllm-engine.mjs")}" "$@"\n`);
    chmodSync(join(bin, "vllm"), 0o755);
    const out = join(root, "served-answers");
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    process.env.FAKE_VLLM_RECORD = record;
    let code: number;
    try {
      code = await runCli([
        "generate", "--engine", "openai", "--serve", "vllm", "--model", model, "--adapter", join(runs, "DE"), "--adapter", join(runs, "FR"),
        "--bench", join(repositoryRoot, "fixtures/mt-bench/mt-bench-x"), "--out", out, "--quiet", "--", "--gpu-memory-utilization", "0.8",
      ]);
    } finally {
      process.env.PATH = path;
      delete process.env.FAKE_VLLM_RECORD;
    }
    expect(code).toBe(0);
    const started = JSON.parse(readFileSync(record, "utf8")) as { args: string[]; pid: number };
    expect(started.args.join(" ")).toMatch(
      new RegExp(`^serve ${model} --host 127\\.0\\.0\\.1 --port \\d+ --served-model-name model --enable-lora --lora-modules DE=${join(runs, "DE")} FR=${join(runs, "FR")} --max-loras 2 --max-lora-rank 16 --max-cpu-loras 2 --gpu-memory-utilization 0\\.8$`),
    );
    expect(() => process.kill(started.pid, 0)).toThrow(); // stopped
    const files = await loadAnswerFiles({ answers: out });
    expect(files.map((file) => `${file.lang}/${file.model}`).sort()).toEqual(["DE/DE", "DE/FR", "EN/DE", "EN/FR"]);
    for (const file of files) {
      expect(file.answers).toHaveLength(3);
      for (const answer of file.answers) expect(answer.choices[0]!.turns.every((turn) => turn.startsWith(`${file.model} read `))).toBe(true);
    }

    // `mt-bench-x judge` judges the answer files as they are.
    const judge = await startOpenAIServer({ handle: () => "Fine. Rating: [[7]]" });
    process.env.GENERATE_TEST_JUDGE_KEY = "local-judge";
    try {
      const judged = await runCli([
        "mt-bench-x", "judge", "--bench", join(repositoryRoot, "fixtures/mt-bench/mt-bench-x"), "--answers", out, "--judge-model", "judge-model",
        "--base-url", judge.baseUrl, "--api-key-env", "GENERATE_TEST_JUDGE_KEY", "--out", join(root, "judgments"), "--quiet",
      ]);
      expect(judged).toBe(0);
    } finally {
      delete process.env.GENERATE_TEST_JUDGE_KEY;
      await judge.close();
    }
    expect(judge.requests).toHaveLength(2 * 2 * 3 * 2);
    for (const lang of ["DE", "EN"]) {
      const rows = readFileSync(join(root, "judgments", `mt_bench_${lang}`, "model_judgment", "judge-model_single.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as { model: string; score: number });
      expect(rows).toHaveLength(2 * 3 * 2);
      expect(new Set(rows.map((row) => row.model))).toEqual(new Set(["DE", "FR"]));
      expect(rows.every((row) => row.score === 7)).toBe(true);
    }
  }, 300_000);
});

describe("generate's engine option", () => {
  it("takes --engine out of the forwarded arguments, hf by default", () => {
    expect(splitEngine(["--model", "m", "--engine", "openai", "--", "--engine", "x"])).toEqual({ engine: "openai", rest: ["--model", "m", "--", "--engine", "x"] });
    expect(splitEngine(["--engine=hf", "--adapter", "run"])).toEqual({ engine: "hf", rest: ["--adapter", "run"] });
    expect(splitEngine(["--adapter", "run"]).engine).toBe("hf");
    expect(() => splitEngine(["--engine", "tgi"])).toThrow(/expected "hf" or "openai"/);
  });
});
