import type { Command } from "commander";
import { defaultTranslationCachePath } from "../../cache-directory";
import { parseLanguageList, parseNonNegativeNumber, parsePositiveInteger } from "../option-parsers";
import { UsageError } from "../../errors";
import { isIso639_1 } from "../../record/language-codes";
import { createProgressReporter, type ProgressReporter } from "../progress-reporter";
import { addProviderOptions, createProviderFromFlags, type ProviderFlags } from "../provider-from-flags";
import { addRemoteOptions, printWait, remotePolicyOf, type RemoteCommandOptions } from "../remote-options";
import type { TranslateCorpusProgress, TranslateCorpusSummary } from "../../translate/translate-corpus";

interface TranslateCommandOptions extends RemoteCommandOptions, ProviderFlags {
  allowEmpty?: boolean;
  input: string;
  from: string;
  to: string[];
  out: string;
  cache?: string;
  concurrency?: number;
  dryRun?: boolean;
  applyCorrections?: string;
  pricePerMillion?: number;
  currency?: string;
  quiet?: boolean;
}

function formatSummary(summary: TranslateCorpusSummary): string[] {
  const lines: string[] = [];
  for (const [lang, report] of Object.entries(summary.languages)) {
    const cost = report.estimatedCost ? ` ~ ${report.estimatedCost.amount.toFixed(2)} ${report.estimatedCost.currency}` : "";
    const counted = report.serviceBilledCharacters === null ? "" : `, service counted ${report.serviceBilledCharacters}`;
    const issues = Object.entries(report.issueCounts)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(", ");
    lines.push(
      summary.dryRun
        ? `${report.from}->${lang}: ${report.uniqueSegments - report.cachedSegments} of ${report.uniqueSegments} segments to send, ` +
            `${report.billedCharacters} characters would be billed${cost} (${report.cachedSegments} cached)`
        : `${report.from}->${lang}: ${report.uniqueSegments} segments (${report.cachedSegments} cached, ${report.sentSegments} sent in ` +
            `${report.requests} requests, ${report.retries} retries), ${report.billedCharacters} characters billed${counted}${cost}` +
            (report.possiblyBilledRequests > 0
              ? `; ${report.possiblyBilledRequests} timed-out request(s) may also have been billed (${report.possiblyBilledCharacters} characters)`
              : "") +
            (issues ? `; issues: ${issues}` : ""),
    );
  }
  if (!summary.dryRun) lines.push(`wrote ${summary.files.map((file) => file.path).join(", ")}`);
  return lines;
}

/**
 * Adds `build-datasets translate`: translate a corpus (LIMA) into several languages through
 * DeepL, Google, an OpenAI-compatible endpoint or the cache, writing the parallel corpus.
 */
export function registerTranslateCommands(program: Command): void {
  const command = program
    .command("translate")
    .description("translate a corpus (e.g. LIMA) into several languages: <from>.jsonl, <lang>.jsonl, translation-report.json, review.csv")
    .requiredOption("--input <path>", "corpus to translate (LIMA train.jsonl or any supported format)")
    .requiredOption("--to <langs>", "target languages, comma-separated ISO 639-1 codes (de,fr,it,es)", parseLanguageList)
    .requiredOption("--out <dir>", "output directory")
    .option("--from <lang>", "source language", "en")
    .option("--cache <path>", "translation cache file (shared by every command)", undefined)
    .option("--concurrency <n>", "requests in flight", parsePositiveInteger, 4)
    .option("--dry-run", "send nothing; print the segments and characters that would be billed, and the price")
    .option("--apply-corrections <file>", "an edited review.csv whose 'correction' column overrides translations")
    .option("--formality <level>", "DeepL formality (less, more, prefer_less, prefer_more)")
    .option("--glossary-id <id>", "DeepL glossary id")
    .option("--replay-provider <id>", "with --provider cache: the recorded provider identity to replay")
    .option("--price-per-million <amount>", "price per million characters for the estimate", parseNonNegativeNumber)
    .option("--currency <code>", "currency of --price-per-million", "EUR")
    .option("--allow-empty", "accept empty language files and empty messages (by default both are errors)")
    .option("--quiet", "no progress output");
  addRemoteOptions(addProviderOptions(command), 120).action(async (options: TranslateCommandOptions) => {
      if (!isIso639_1(options.from)) throw new UsageError(`--from: "${options.from}" is not an ISO 639-1 code such as en`);
      const provider = createProviderFromFlags(options);
      // The translation pipeline (markdown parser, cache database) loads only for this command.
      const [{ openTranslationCache }, { readCorrections }, { translateCorpus }] = await Promise.all([
        import("../../translate/translation-cache"),
        import("../../translate/review-csv"),
        import("../../translate/translate-corpus"),
      ]);
      const cache = await openTranslationCache({ path: options.cache ?? defaultTranslationCachePath(), wait: options.wait, onWait: printWait });
      const corrections = options.applyCorrections ? await readCorrections(options.applyCorrections) : undefined;
      let reporter: ProgressReporter | undefined;
      const onProgress = (progress: TranslateCorpusProgress): void => {
        reporter ??= createProgressReporter({
          label: `translate ${progress.from}->${progress.to.join(",")}`,
          total: progress.totalSegments,
          unit: "segments",
          quiet: options.quiet ?? false,
        });
        reporter.update(progress.doneSegments, {
          cached: progress.cachedSegments,
          chars: `${progress.sentCharacters}/${progress.totalCharacters}`,
          retries: progress.retries,
        });
      };
      // Ctrl-C: stop sending; what is already answered is in the cache, so a rerun resumes.
      const controller = new AbortController();
      const onSignal = (): void => controller.abort(new UsageError("interrupted; rerun the same command to resume from the cache"));
      process.once("SIGINT", onSignal);
      try {
        const summary = await translateCorpus({
          input: options.input,
          from: options.from,
          to: options.to,
          provider,
          cache,
          outDir: options.out,
          concurrency: options.concurrency ?? 4,
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(corrections ? { corrections } : {}),
          ...(options.pricePerMillion !== undefined
            ? { price: { perMillionCharacters: options.pricePerMillion, currency: options.currency ?? "EUR" } }
            : {}),
          onProgress,
          signal: controller.signal,
          retry: remotePolicyOf(options),
          wait: options.wait,
          onWait: printWait,
          ...(options.allowEmpty ? { allowEmpty: true } : {}),
        });
        reporter?.stop();
        reporter = undefined;
        if (!options.quiet || summary.dryRun) for (const line of formatSummary(summary)) process.stdout.write(line + "\n");
      } finally {
        reporter?.stop();
        process.removeListener("SIGINT", onSignal);
        await cache.close();
      }
    });
}
