import type { SkippedFile } from "../corpus/list-language-files";

/** Prints, on stderr, each data file of an input folder that was not read and why. */
export function warnSkippedFiles(skipped: readonly SkippedFile[]): void {
  if (skipped.length === 0) return;
  const lines = skipped.map((file) => `  - ${file.path}: ${file.reason}`);
  process.stderr.write(`build-datasets: warning: ${skipped.length} file(s) skipped (not named after a language):\n${lines.join("\n")}\n`);
}
