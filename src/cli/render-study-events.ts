import type { StudyEvent } from "../study/run-study";
import { createProgressReporter, type ProgressReporter } from "./progress-reporter";
import { warnSkippedFiles } from "./warn-skipped-files";

/** Turns study events into progress output (a bar on a terminal, plain lines otherwise). */
export function createStudyEventRenderer(options: { quiet: boolean; totalOutputs?: number }): {
  onEvent: (event: StudyEvent) => void;
  stop(): void;
} {
  const log = (line: string) => {
    if (!options.quiet) process.stderr.write(line + "\n");
  };
  let translation: ProgressReporter | undefined;
  let translationTarget = "";
  let outputs: ProgressReporter | undefined;
  let download: ProgressReporter | undefined;
  let written = 0;
  return {
    onEvent(event) {
      switch (event.type) {
        case "corpus-start":
          log(`${event.corpus}: ${event.kind === "files" ? "reading" : event.kind === "translate" ? "translating" : "sampling"}`);
          break;
        case "download":
          download ??= createProgressReporter({ label: `  download ${event.file}`, total: event.totalBytes, unit: "bytes", quiet: options.quiet });
          download.update(event.bytes);
          if (event.bytes >= event.totalBytes) {
            download.stop();
            download = undefined;
          }
          break;
        case "files-skipped":
          // A warning, printed even with --quiet: a misnamed file silently leaves a language out.
          warnSkippedFiles(event.skipped);
          break;
        case "input-read":
          log(`  read ${event.rows} rows from ${event.file}`);
          break;
        case "ids-dropped": {
          const detail = Object.entries(event.missingByLanguage)
            .map(([lang, count]) => `${count} missing in ${lang} (e.g. ${event.examples[lang]?.slice(0, 3).join(", ")})`)
            .join("; ");
          log(`  ${event.dropped} ids not in every language were left out: ${detail}`);
          break;
        }
        case "translation-progress":
          if (!translation || translationTarget !== event.corpus) {
            translation?.stop();
            translationTarget = event.corpus;
            translation = createProgressReporter({ label: `  translate -> ${event.extra.to}`, total: event.total, unit: "segments", quiet: options.quiet });
          }
          translation.update(event.done, event.extra);
          break;
        case "output-written":
          translation?.stop();
          translation = undefined;
          outputs ??= createProgressReporter({ label: "  writing", total: options.totalOutputs, unit: "files", quiet: options.quiet });
          written += 1;
          outputs.update(written, { last: event.path });
          break;
        case "done":
          outputs?.stop();
          outputs = undefined;
          break;
      }
    },
    stop() {
      translation?.stop();
      outputs?.stop();
    },
  };
}
