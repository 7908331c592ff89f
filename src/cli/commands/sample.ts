import type { Command } from "commander";
import { printWait } from "../remote-options";
import { warnSkippedFiles } from "../warn-skipped-files";
import { parseInteger, parseLanguageList, parsePositiveInteger } from "../option-parsers";

interface SampleOptions {
  input: string;
  n: number;
  seed: number;
  out: string;
  langs?: string[];
  stratifyBy?: string;
  quiet?: boolean;
  allowEmpty?: boolean;
  wait: boolean;
}

/** Adds `build-datasets sample`: seeded down-sampling of a parallel corpus, kept parallel. */
export function registerSampleCommand(program: Command): void {
  program
    .command("sample")
    .description("sample n ids of a parallel corpus (the same ids in every language), e.g. Bactrian-X -> Bactrian-X-small")
    .requiredOption("--input <path>", "directory with one file per language, or one file with a lang column")
    .requiredOption("--n <count>", "number of ids", parsePositiveInteger)
    .requiredOption("--out <dir>", "output directory: <lang>.jsonl per language and manifest.json")
    .option("--seed <n>", "seed", parseInteger, 42)
    .option("--langs <codes>", "languages to keep (default: all)", parseLanguageList)
    .option("--stratify-by <field>", "keep the mix of this meta field (e.g. origin)")
    .option("--allow-empty", "accept empty language files and empty messages (by default both are errors)")
    .option("--no-wait", "fail at once instead of waiting when another process writes to --out")
    .option("--quiet", "no output")
    .action(async (options: SampleOptions) => {
      if (!options.quiet) process.stderr.write(`build-datasets sample: n ${options.n}, seed ${options.seed}\n`);
      const { sampleCorpus } = await import("../../sample/sample-corpus");
      const manifest = await sampleCorpus({
        input: options.input,
        n: options.n,
        seed: options.seed,
        outDir: options.out,
        ...(options.langs ? { languages: options.langs } : {}),
        ...(options.stratifyBy ? { stratifyBy: options.stratifyBy } : {}),
        ...(options.allowEmpty ? { allowEmpty: true } : {}),
        wait: options.wait,
        onWait: printWait,
      });
      warnSkippedFiles(manifest.skippedFiles ?? []);
      if (!options.quiet) {
        process.stdout.write(
          `sampled ${manifest.n} of ${manifest.population} ids in ${manifest.outputs.length} languages to ${options.out}/ (seed ${manifest.seed})\n`,
        );
      }
    });
}
