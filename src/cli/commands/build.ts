import type { Command } from "commander";
import { resolve } from "node:path";
import { bundledPath } from "../../package-info";
import { compositionsOf, readStudyConfig } from "../../study/study-config";
import { runStudy } from "../../study/run-study";
import { parseArrowFormat, parseInteger } from "../option-parsers";
import { createStudyEventRenderer } from "../render-study-events";
import { addRemoteOptions, printWait, remotePolicyOf, type RemoteCommandOptions } from "../remote-options";

interface BuildOptions extends RemoteCommandOptions {
  config?: string;
  out: string;
  seed?: number;
  arrowFormat?: "stream" | "file";
  quiet?: boolean;
  allowEmpty?: boolean;
}

/** Adds `build-datasets build`: run a study config (default: the bundled fixture study, offline). */
export function registerBuildCommand(program: Command): void {
  const command = program
    .command("build")
    .description("build every corpus and composition of a study config (default: the bundled fixture study, offline)")
    .option("--config <file>", "study config JSON (default: the bundled fixtures/study.json)")
    .option("--out <dir>", "output directory", "out")
    .option("--seed <n>", "override the config's seed", parseInteger)
    .option("--arrow-format <layout>", "override the config's Arrow IPC layout: stream (default; datasets.Dataset.from_file maps it) or file (pyarrow.ipc.open_file)", parseArrowFormat)
    .option("--allow-empty", "accept empty language files and empty messages (by default both are errors)")
    .option("--quiet", "no progress output");
  addRemoteOptions(command, 120).action(async (options: BuildOptions) => {
      const configPath = options.config ? resolve(options.config) : bundledPath("fixtures", "study.json");
      const read = await readStudyConfig(configPath);
      const { baseDirectory } = read;
      const config = options.arrowFormat ? { ...read.config, arrowFormat: options.arrowFormat } : read.config;
      const seed = options.seed ?? config.seed;
      const quiet = options.quiet ?? false;
      const totalOutputs = Object.values(config.corpora).reduce(
        (sum, corpus) => sum + compositionsOf(config, corpus).length * config.formats.length * (config.validationFraction > 0 ? 2 : 1),
        0,
      );
      if (!quiet) process.stderr.write(`build-datasets build: config ${configPath}, seed ${seed}, out ${resolve(options.out)}\n`);
      const renderer = createStudyEventRenderer({ quiet, totalOutputs });
      try {
        const manifest = await runStudy({
          config,
          baseDirectory,
          outDir: options.out,
          seed,
          onEvent: renderer.onEvent,
          wait: options.wait,
          onWait: printWait,
          ...remotePolicyOf(options),
          ...(options.allowEmpty ? { allowEmpty: true } : {}),
        });
        const datasets = new Set(manifest.outputs.map((output) => `${output.corpus}/${output.composition}`));
        if (!quiet) {
          process.stdout.write(
            `wrote ${datasets.size} datasets (${manifest.outputs.length} files) in ${Object.keys(manifest.corpora).length} corpora to ${options.out}/, with manifest.json and README.md (seed ${seed})\n`,
          );
        }
      } finally {
        renderer.stop();
      }
    });
}
