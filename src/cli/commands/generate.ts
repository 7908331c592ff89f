import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { UsageError } from "../../errors";
import { parseLanguageList, parsePositiveInteger } from "../option-parsers";
import { createProgressReporter } from "../progress-reporter";
import { pythonModuleCommand, runPythonModule } from "../python-launcher";
import { addRemoteOptions, remotePolicyOf, type RemoteCommandOptions } from "../remote-options";

const ENGINES = ["hf", "openai"] as const;

interface OpenAIGenerateOptions extends RemoteCommandOptions {
  model: string;
  adapter?: string[];
  runs?: string;
  bench: string;
  out: string;
  lang?: string[];
  baseUrl?: string;
  apiKeyEnv: string;
  serve?: "vllm" | "sglang";
  servePython: string;
  servedModelName?: string;
  readyTimeout: number;
  concurrency: number;
  maxTokens: number;
  seed: number;
  retries: number;
  chatTemplate?: string;
  systemMessage?: string;
  quiet?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--seed: expected an integer >= 0, got "${value}"`);
  return Number(value);
}

/** `--engine X` / `--engine=X` anywhere before a `--`; the arguments without it. */
export function splitEngine(args: readonly string[]): { engine: string; rest: string[] } {
  const rest: string[] = [];
  let engine = "hf";
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index]!;
    if (argument === "--") {
      rest.push(...args.slice(index));
      break;
    }
    if (argument === "--engine") {
      engine = args[index + 1] ?? "";
      index += 1;
    } else if (argument.startsWith("--engine=")) {
      engine = argument.slice("--engine=".length);
    } else {
      rest.push(argument);
    }
  }
  if (!(ENGINES as readonly string[]).includes(engine)) throw new UsageError(`--engine: expected "hf" or "openai", got "${engine}"`);
  return { engine, rest };
}

/** Every run folder directly under `directory` (one with adapter_config.json), sorted by name. */
async function listRunFolders(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--runs ${directory}: ${error.code === "ENOENT" ? "no such folder" : error.message}`);
  });
  const runs: string[] = [];
  for (const entry of entries.filter((item) => item.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const isRun = await stat(join(directory, entry.name, "adapter_config.json")).then(() => true, () => false);
    if (isRun) runs.push(join(directory, entry.name));
  }
  if (runs.length === 0) throw new UsageError(`--runs ${directory}: no run folder (with adapter_config.json) in it`);
  return runs;
}

/** The question files exist: checked before a server spends minutes loading the model. */
async function checkBench(bench: string, languages: string[] | undefined): Promise<void> {
  const { benchLanguageDirectory, listBenchLanguages } = await import("../../eval/mt-bench-files");
  const found = languages?.map((lang) => lang.toUpperCase()) ?? (await listBenchLanguages(bench).catch(() => []));
  if (found.length === 0) throw new UsageError(`--bench ${bench}: no mt_bench_<LANG>/question.jsonl in it`);
  for (const lang of found) {
    const file = join(benchLanguageDirectory(bench, lang), "question.jsonl");
    if (!(await stat(file).then((info) => info.isFile(), () => false))) throw new UsageError(`--bench: ${file} not found`);
  }
}

function openAIGenerateCommand(): Command {
  const command = new Command("generate --engine openai")
    .description(
      "Answer MT-Bench-X with every adapter through an OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp) on /v1/completions, " +
        "sending the token ids the adapter was trained on. Arguments after -- go to the server started by --serve.",
    )
    .requiredOption("--model <dir>", "base model (its tokenizer renders the prompts; --serve loads it)")
    .option("--adapter <run>", "training run folder; repeat for several adapters (served under the folder's name)", collect)
    .option("--runs <dir>", "every run folder under this folder")
    .requiredOption("--bench <dir>", "MT-Bench-X tree with mt_bench_<LANG>/question.jsonl")
    .requiredOption("--out <dir>", "answers folder: mt_bench_<LANG>/model_answer/<adapter>.jsonl")
    .option("--lang <languages>", "languages, e.g. de,fr (default: all in --bench)", parseLanguageList)
    .option("--base-url <url>", "the running server, e.g. http://127.0.0.1:8000/v1 (or --serve)")
    .option("--api-key-env <name>", "environment variable with the server's key (a local server takes any)", "OPENAI_API_KEY")
    .addOption(new Option("--serve <engine>", "start this server with every adapter loaded, answer, stop it").choices(["vllm", "sglang"]))
    .option("--serve-python <python>", "the Python that has SGLang (--serve sglang)", "python3")
    .option("--served-model-name <name>", "name of the base model on the started server (default its folder name)")
    .option("--ready-timeout <seconds>", "longest wait for the started server to load every adapter", parsePositiveInteger, 1800)
    .option("--concurrency <n>", "requests in flight (the server batches them)", parsePositiveInteger, 64)
    .option("--max-tokens <n>", "tokens per answer turn (FastChat: 1024)", parsePositiveInteger, 1024)
    .option("--seed <n>", "seeds each request's seed (recorded in the answers)", parseSeed, 42)
    .option("--retries <n>", "retries of a failed request (429, 5xx, timeouts, dropped connections)", parsePositiveInteger, 8)
    .option("--chat-template <name>", "override the runs' chat template")
    .option("--system-message <text>", "override the runs' system messages")
    .option("--quiet", "no progress output")
    .exitOverride();
  return addRemoteOptions(command, 900);
}

async function generateWithServer(args: string[]): Promise<void> {
  const separator = args.indexOf("--");
  const serverArgs = separator >= 0 ? args.slice(separator + 1) : [];
  const command = openAIGenerateCommand();
  command.parse(separator >= 0 ? args.slice(0, separator) : args, { from: "user" });
  const options = command.opts<OpenAIGenerateOptions>();
  if (!options.baseUrl === !options.serve) throw new UsageError("give --base-url (a running server) or --serve vllm|sglang (start one), not both or neither");
  if (serverArgs.length > 0 && !options.serve) throw new UsageError("arguments after -- go to the server that --serve starts; without --serve, give them to your server");
  const runs = [...(options.adapter ?? []), ...(options.runs ? await listRunFolders(options.runs) : [])].map((path) => resolve(path));
  if (runs.length === 0) throw new UsageError("give the adapters: --adapter RUN (repeatable) or --runs DIR");
  const names = runs.map((run) => basename(run));
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new UsageError(`two run folders are named "${duplicate}"; their answers would share a file`);

  const [{ answerMtBenchWithServer }, { createTrainerPromptRenderer }, { buildServeCommand, readServedAdapter }, { findFreePort, startInferenceServer }] = await Promise.all([
    import("../../eval/generate/answer-with-server"),
    import("../../eval/generate/prompt-renderer"),
    import("../../eval/generate/serve-command"),
    import("../../eval/generate/start-inference-server"),
  ]);
  const served = await Promise.all(runs.map((path, index) => readServedAdapter({ name: names[index]!, path })));
  const reporter = createProgressReporter({ label: "generate", unit: "questions", quiet: options.quiet });
  let server: { baseUrl: string; stop(): Promise<void> } | undefined;
  const renderArgs = ["render-prompts", "--model", options.model, ...(options.chatTemplate ? ["--chat-template", options.chatTemplate] : []), ...(options.systemMessage !== undefined ? ["--system-message", options.systemMessage] : [])];
  const renderer = createTrainerPromptRenderer(pythonModuleCommand({ module: "polyglot_trainer", args: renderArgs }));
  // The engine runs in its own process group (its workers with it), so Ctrl-C reaches only this process:
  // stop the server, then end as the signal would have.
  const stopServer = (signal: NodeJS.Signals): void => {
    void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", stopServer);
  process.once("SIGTERM", stopServer);
  try {
    if (options.serve) {
      await checkBench(options.bench, options.lang);
      const port = await findFreePort();
      const serveCommand = buildServeCommand({
        engine: options.serve,
        baseModel: options.model,
        adapters: served,
        port,
        python: options.servePython,
        extraArgs: serverArgs,
        ...(options.servedModelName ? { servedModelName: options.servedModelName } : {}),
      });
      const logFile = join(options.out, `${options.serve}-server.log`);
      server = await startInferenceServer({
        engine: options.serve,
        command: serveCommand,
        port,
        models: names,
        logFile,
        readyTimeoutMs: options.readyTimeout * 1000,
        onStart: (line) => reporter.log(`starting: ${line}\n  (log: ${logFile})`),
      });
      reporter.log(`${options.serve} serves ${names.length} adapters at ${server.baseUrl}`);
    }
    const summary = await answerMtBenchWithServer({
      bench: options.bench,
      out: options.out,
      ...(options.lang ? { languages: options.lang } : {}),
      adapters: runs.map((path, index) => ({ path, servedName: names[index]! })),
      baseUrl: server?.baseUrl ?? options.baseUrl!,
      apiKeyEnv: options.apiKeyEnv,
      concurrency: options.concurrency,
      maxTokens: options.maxTokens,
      seed: options.seed,
      retry: { retries: options.retries, ...remotePolicyOf(options) },
      renderer,
      onProgress: (event) => {
        if (event.message) reporter.log(event.message);
        reporter.update(event.done, { total: event.total });
      },
    });
    reporter.stop();
    if (!options.quiet) {
      process.stdout.write(`${summary.answered} questions answered (${summary.requests} requests), ${summary.skipped} already answered\n${summary.files.map((file) => `wrote ${file}`).join("\n")}\n`);
    }
  } finally {
    reporter.stop();
    process.off("SIGINT", stopServer);
    process.off("SIGTERM", stopServer);
    await renderer.close();
    await server?.stop();
  }
}

/**
 * Adds `generate`: `--engine hf` (default) forwards to `python -m polyglot_trainer generate`
 * (Hugging Face generate, one adapter); `--engine openai` answers with many adapters through an
 * OpenAI-compatible server, started with `--serve vllm|sglang` or already running at `--base-url`.
 */
export function registerGenerateCommand(program: Command): void {
  program
    .command("generate")
    .description("answer MT-Bench-X questions with trained adapters (FastChat answer files): --engine hf (default, Python trainer) or --engine openai (a vLLM/SGLang server; --engine openai --help)")
    .argument("[arguments...]", "forwarded to python -m polyglot_trainer generate (--engine hf)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_arguments: string[], _options: unknown, command: Command) => {
      const { engine, rest } = splitEngine(command.args);
      if (engine === "openai") {
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(openAIGenerateCommand().helpInformation());
          return;
        }
        await generateWithServer(rest);
        return;
      }
      if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write("build-datasets generate [--engine hf] ...: Hugging Face generate, one adapter (the options below).\n" +
          "build-datasets generate --engine openai ...: every adapter through a vLLM/SGLang server (see --engine openai --help).\n\n");
      }
      process.exitCode = await runPythonModule({ module: "polyglot_trainer", args: ["generate", ...rest] });
    });
}
