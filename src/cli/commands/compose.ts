import type { Command } from "commander";
import { outputFormatSchema, type OutputFormat } from "../../compose/write-compositions";
import { parseArrowFormat } from "../option-parsers";
import { UsageError } from "../../errors";
import { sourceFormatSchema, SOURCE_FORMATS, type SourceFormat } from "../../sources/read-source";
import { fractionIn, parseCompositionList, parseInteger, parseList, SHARE_RANGE } from "../option-parsers";
import { createStudyEventRenderer } from "../render-study-events";
import { printWait } from "../remote-options";

interface ComposeOptions {
  input: string;
  compositions: string[];
  seed: number;
  out: string;
  format: string[];
  arrowFormat: "stream" | "file";
  inputFormat?: SourceFormat;
  validation: number;
  quiet?: boolean;
  allowEmpty?: boolean;
  wait: boolean;
}

/** Adds `build-datasets compose`: compositions of one parallel corpus. */
export function registerComposeCommand(program: Command): void {
  program
    .command("compose")
    .description("build compositions (EN, DEFRITES, ENDEFRITES-sampled, ...) of a parallel corpus")
    .requiredOption("--input <path>", "directory with one file per language (en.jsonl, de.json.gz, ...) or one file with a lang column")
    .requiredOption("--compositions <names>", "comma-separated composition names, e.g. EN,DE,ENDEFRITES,DEFRITES-sampled", parseCompositionList)
    .requiredOption("--out <dir>", "output directory")
    .option("--seed <n>", "seed of sampling, assignment and order", parseInteger, 42)
    .option("--format <formats>", "output formats: jsonl, arrow or jsonl,arrow", parseList, ["jsonl", "arrow"])
    .option("--arrow-format <layout>", "Arrow IPC layout: stream (what datasets.Dataset.from_file maps) or file (pyarrow.ipc.open_file)", parseArrowFormat, "stream")
    .option("--input-format <format>", `force the input format (${SOURCE_FORMATS.join(", ")})`)
    .option("--validation <share>", "hold out this share of ids as a validation split, e.g. 0.03", fractionIn(SHARE_RANGE), 0)
    .option("--allow-empty", "accept empty language files and empty messages (by default both are errors)")
    .option("--no-wait", "fail at once instead of waiting when another process writes to --out")
    .option("--quiet", "no progress output")
    .action(async (options: ComposeOptions) => {
      const formats = options.format.map((format) => {
        const parsed = outputFormatSchema.safeParse(format);
        if (!parsed.success) throw new UsageError(`--format: unknown format "${format}"; choose from jsonl, arrow`);
        return parsed.data as OutputFormat;
      });
      if (options.inputFormat && !sourceFormatSchema.safeParse(options.inputFormat).success) {
        throw new UsageError(`--input-format: unknown format "${options.inputFormat}"; choose from ${SOURCE_FORMATS.join(", ")}`);
      }
      const quiet = options.quiet ?? false;
      if (!quiet) process.stderr.write(`build-datasets compose: seed ${options.seed}\n`);
      const renderer = createStudyEventRenderer({ quiet, totalOutputs: options.compositions.length * formats.length });
      try {
        const { composeDataset } = await import("../../study/compose-dataset");
        const manifest = await composeDataset({
          input: options.input,
          compositions: options.compositions,
          outDir: options.out,
          seed: options.seed,
          formats,
          arrowFormat: options.arrowFormat,
          validationFraction: options.validation,
          ...(options.inputFormat ? { format: options.inputFormat } : {}),
          onEvent: renderer.onEvent,
          ...(options.allowEmpty ? { allowEmpty: true } : {}),
          wait: options.wait,
          onWait: printWait,
        });
        if (!quiet) process.stdout.write(`wrote ${manifest.outputs.length} files to ${options.out}/ (seed ${options.seed})\n`);
      } finally {
        renderer.stop();
      }
    });
}
