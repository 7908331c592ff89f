import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { HUB_PRESET_NAMES, HUB_PRESETS, fetchPreset, type HubPresetName } from "../../hub/fetch-presets";
import type { HubProgressCallback } from "../../hub/hub-progress";
import type { PushResult } from "../../hub/push-dataset";
import { parseLanguageList } from "../option-parsers";
import { hubFetchOf, parseTimeoutSeconds, printWait } from "../remote-options";
import { createProgressReporter, type ProgressReporter } from "../progress-reporter";
import { renamedFlagValue } from "../renamed-flag";

interface CommonHubOptions {
  /** `--base-url`. */
  baseUrl?: string;
  /** `--hub-url`: the deprecated name of `--base-url`. */
  hubUrl?: string;
  quiet?: boolean;
  /** Seconds without an answer after which a hub request fails (and is retried). */
  timeout?: number;
}

interface FetchCommandOptions extends CommonHubOptions {
  langs?: string[];
  revision?: string;
  out: string;
  cacheDir?: string;
  wait: boolean;
}

interface PushCommandOptions extends CommonHubOptions {
  repo: string;
  out: string;
  dryRun?: boolean;
  public?: boolean;
  message?: string;
}

interface PushAdapterCommandOptions extends CommonHubOptions {
  repo: string;
  run: string;
  dryRun?: boolean;
  public?: boolean;
  message?: string;
  configFile?: string;
  composition?: string;
  corpus?: string;
  datasetRepo?: string;
}

const TOKEN_NOTE =
  "The token comes from HF_TOKEN or the saved token file ($HF_HOME/token, ~/.cache/huggingface/token); " +
  "the endpoint from --base-url or HF_ENDPOINT.";

/** `--base-url`, or its deprecated name `--hub-url`. */
function hubBaseUrlOf(options: CommonHubOptions): string | undefined {
  return renamedFlagValue({ newFlag: "--base-url", oldFlag: "--hub-url", newValue: options.baseUrl, oldValue: options.hubUrl });
}

function parseRepoName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) {
    throw new InvalidArgumentError("expected OWNER/NAME, e.g. alice/lima-x");
  }
  return value;
}

function parseUrl(value: string): string {
  try {
    return new URL(value).toString().replace(/\/+$/, "");
  } catch {
    throw new InvalidArgumentError("expected a URL such as https://huggingface.co");
  }
}

/** Renders download progress: one bar per file, a line for cache hits and resolved revisions. */
function createDownloadProgress(quiet: boolean | undefined): { onProgress: HubProgressCallback; stop(): void } {
  let reporter: ProgressReporter | undefined;
  let current: string | undefined;
  const log = (line: string) => {
    if (quiet) return;
    if (reporter) reporter.log(line);
    else process.stderr.write(`${line}\n`);
  };
  return {
    onProgress(event) {
      if (event.type === "resolved") {
        log(`${event.repo}@${event.revision} -> ${event.commit}${event.offline ? " (offline, from the cache)" : ""}`);
      } else if (event.type === "cached") {
        log(`cached: ${event.path} (${event.bytes} bytes, verified)`);
      } else if (event.type === "download") {
        if (current !== event.path) {
          reporter?.stop();
          current = event.path;
          reporter = createProgressReporter({ label: event.path, total: event.totalBytes, unit: "bytes", quiet });
          if (event.resumedFrom > 0) reporter.log(`resuming ${event.path} from byte ${event.resumedFrom}`);
        }
        reporter?.update(event.bytes);
      } else if (event.type === "downloaded") {
        reporter?.update(event.bytes);
        reporter?.stop();
        reporter = undefined;
        current = undefined;
        log(`downloaded: ${event.path} (${event.bytes} bytes, sha256 ${event.sha256})`);
      }
    },
    stop() {
      reporter?.stop();
    },
  };
}

/** Renders upload progress as plain lines: phases and finished files. */
function createUploadProgress(quiet: boolean | undefined): HubProgressCallback {
  const finished = new Set<string>();
  return (event) => {
    if (quiet) return;
    if (event.type === "upload-phase") process.stderr.write(`${event.phase}...\n`);
    else if (event.type === "upload" && event.state === "uploading" && event.progress >= 1 && !finished.has(event.path)) {
      finished.add(event.path);
      process.stderr.write(`uploaded: ${event.path}\n`);
    }
  };
}

function printPushResult(result: PushResult, what: string): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (result.dryRun) {
    out(`Dry run: would push ${result.files.length} files to ${result.repoUrl} (${result.private ? "private" : "public"})`);
    out(`Commit title: ${result.commitTitle}`);
    for (const file of result.files) out(`  ${file.pathInRepo}  ${file.bytes} bytes  sha256:${file.sha256}`);
    for (const warning of result.warnings) out(`warning: ${warning}`);
    out("");
    out(`--- ${what} (README.md) ---`);
    out(result.card.trimEnd());
    return;
  }
  for (const warning of result.warnings) out(`warning: ${warning}`);
  out(
    `Pushed ${result.files.length} files to ${result.repoUrl} in commit ${result.commitOid}` +
      (result.created ? ` (new ${result.private ? "private" : "public"} repository)` : " (existing repository; visibility unchanged)"),
  );
}

/**
 * Adds the hub commands: `fetch <preset>`, `push` (a built study as a dataset repository) and
 * `push-adapter` (a trained LoRA adapter as a model repository).
 */
export function registerHubCommands(program: Command): void {
  program
    .command("fetch")
    .description(`Download a study source from the Hugging Face Hub into --out (through the cache). ${TOKEN_NOTE}`)
    .addArgument(
      new Argument("<preset>", HUB_PRESET_NAMES.map((name) => `${name}: ${HUB_PRESETS[name].description}`).join("; ")).choices(HUB_PRESET_NAMES),
    )
    .option("--langs <codes>", "languages for bactrian-x, comma-separated (default en,de,fr,it,es)", parseLanguageList)
    .option("--revision <revision>", "branch, tag or commit sha (default: the repository's default branch)")
    .requiredOption("--out <dir>", "directory for <preset>/ and <preset>.source.json")
    .option("--cache-dir <dir>", "download cache (default $POLYGLOT_CACHE_DIR/hub or ~/.cache/polyglot-instruct/hub)")
    .option("--base-url <url>", "hub endpoint (default HF_ENDPOINT or https://huggingface.co)", parseUrl)
    .addOption(new Option("--hub-url <url>", "deprecated name of --base-url").argParser(parseUrl).hideHelp())
    .option("--timeout <seconds>", "give up on a hub request after this many seconds without an answer (it is retried; a download resumes)", parseTimeoutSeconds)
    .option("--no-wait", "fail at once instead of waiting when another process downloads into the same cache or --out")
    .option("--quiet", "no progress output")
    .action(async (preset: HubPresetName, options: FetchCommandOptions) => {
      const progress = createDownloadProgress(options.quiet);
      try {
        const result = await fetchPreset({
          preset,
          langs: options.langs,
          revision: options.revision,
          outDir: options.out,
          cacheDir: options.cacheDir,
          baseUrl: hubBaseUrlOf(options),
          onProgress: progress.onProgress,
          wait: options.wait,
          onWait: printWait,
          ...(await hubFetchOf(options)),
        });
        if (!options.quiet) {
          process.stdout.write(`${preset}: ${result.files.length} files from ${result.repo} at ${result.revision} in ${result.directory}\n`);
          for (const file of result.files) process.stdout.write(`  ${file.path}  sha256:${file.sha256}${file.downloaded ? "" : "  (cached)"}\n`);
          process.stdout.write(`source record: ${result.sourceFile}\n`);
        }
      } finally {
        progress.stop();
      }
    });

  program
    .command("push")
    .description(`Publish a built study (manifest.json, README.md, outputs) as a Hugging Face dataset repository. ${TOKEN_NOTE}`)
    .requiredOption("--repo <owner/name>", "dataset repository, e.g. alice/lima-x", parseRepoName)
    .requiredOption("--out <dir>", "the study directory written by build-datasets build")
    .option("--dry-run", "verify and list the files and the dataset card; upload nothing")
    .option("--public", "create the repository public (default: private)")
    .option("--message <title>", "commit title (the tool version and seed are appended)")
    .option("--base-url <url>", "hub endpoint (default HF_ENDPOINT or https://huggingface.co)", parseUrl)
    .addOption(new Option("--hub-url <url>", "deprecated name of --base-url").argParser(parseUrl).hideHelp())
    .option("--timeout <seconds>", "give up on a hub request after this many seconds without an answer (it is retried; a download resumes)", parseTimeoutSeconds)
    .option("--quiet", "no progress output")
    .action(async (options: PushCommandOptions) => {
      const { pushDataset } = await import("../../hub/push-dataset");
      const result = await pushDataset({
        repo: options.repo,
        outDir: options.out,
        private: !options.public,
        dryRun: Boolean(options.dryRun),
        baseUrl: hubBaseUrlOf(options),
        commitMessage: options.message,
        onProgress: createUploadProgress(options.quiet),
        ...(await hubFetchOf(options)),
      });
      printPushResult(result, "dataset card");
    });

  program
    .command("push-adapter")
    .description(`Publish a trained LoRA adapter (weights, adapter_config.json, resolved config, model card) as a model repository. ${TOKEN_NOTE}`)
    .requiredOption("--repo <owner/name>", "model repository, e.g. alice/llama-lima-x-endefrites", parseRepoName)
    .requiredOption("--run <dir>", "the trainer's output directory")
    .option("--dry-run", "list the files and the model card; upload nothing")
    .option("--public", "create the repository public (default: private)")
    .option("--config-file <file>", "the resolved training config inside --run (default training_config.json)")
    .option("--composition <name>", "composition trained on, e.g. ENDEFRITES (default: from the config's data path)")
    .option("--corpus <name>", "corpus of the composition, e.g. lima-x (default: from the config's data path)")
    .option("--dataset-repo <owner/name>", "dataset repository to link from the model card", parseRepoName)
    .option("--message <title>", "commit title (the tool version and seed are appended)")
    .option("--base-url <url>", "hub endpoint (default HF_ENDPOINT or https://huggingface.co)", parseUrl)
    .addOption(new Option("--hub-url <url>", "deprecated name of --base-url").argParser(parseUrl).hideHelp())
    .option("--timeout <seconds>", "give up on a hub request after this many seconds without an answer (it is retried; a download resumes)", parseTimeoutSeconds)
    .option("--quiet", "no progress output")
    .action(async (options: PushAdapterCommandOptions) => {
      const { pushAdapter } = await import("../../hub/push-adapter");
      const result = await pushAdapter({
        repo: options.repo,
        runDir: options.run,
        configFile: options.configFile,
        composition: options.composition,
        corpus: options.corpus,
        datasetRepo: options.datasetRepo,
        private: !options.public,
        dryRun: Boolean(options.dryRun),
        baseUrl: hubBaseUrlOf(options),
        commitMessage: options.message,
        onProgress: createUploadProgress(options.quiet),
        ...(await hubFetchOf(options)),
      });
      printPushResult(result, "model card");
    });
}
