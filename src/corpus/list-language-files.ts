import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../errors";
import { fileKindOf } from "../io/read-rows";
import { isIso639_1 } from "../record/language-codes";

/** A file of an input folder that was not read, and why (the manifest records it). */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** The per-language data files of a folder and the files that were passed over. */
export interface LanguageFiles {
  /** language -> path, e.g. `de` -> `corpus/de.json.gz` (`DE.jsonl` counts as `de`). */
  files: Map<string, string>;
  /** Data files whose names are no language code (`xx.json.gz`, `en-US.jsonl`), with the reason. */
  skipped: SkippedFile[];
}

// Files that this tool itself writes beside language files: never data, never worth a warning.
const OWN_FILES = new Set(["manifest.json", "translation-report.json", "review.csv", "judge-summary.json", "readme.md"]);

/** Why a data file's name gives no language, or undefined when it does. */
export function whyNoLanguage(name: string): string | undefined {
  const stem = name.toLowerCase().split(".")[0] ?? "";
  if (isIso639_1(stem)) return undefined;
  const region = /^([a-z]{2})[-_][a-z0-9]+$/.exec(stem);
  if (region && isIso639_1(region[1]!)) return `"${name.split(".")[0]}" is a regional tag, not an ISO 639-1 code: rename the file to ${region[1]}${name.slice(name.indexOf("."))} to read it`;
  return `"${name.split(".")[0]}" is not an ISO 639-1 language code: name the file after its language (de.json.gz) to read it`;
}

/**
 * Finds `<lang>.<ext>` data files in a folder. Data files named after no language are listed in
 * `skipped` with the reason, so that a typo (`xx.json.gz`, `en-US.jsonl`) is reported instead of
 * silently leaving a language out; other files (READMEs, this tool's manifests) are passed over.
 */
export async function listLanguageFiles(directory: string): Promise<LanguageFiles> {
  const files = new Map<string, string>();
  const skipped: SkippedFile[] = [];
  for (const name of (await readdir(directory)).sort()) {
    if (name.startsWith(".") || !fileKindOf(name) || OWN_FILES.has(name.toLowerCase()) || name.endsWith(".source.json")) continue;
    const reason = whyNoLanguage(name);
    if (reason) {
      skipped.push({ path: join(directory, name), reason });
      continue;
    }
    const lang = name.toLowerCase().split(".")[0]!;
    const previous = files.get(lang);
    if (previous) throw new InputError(`two files for language "${lang}": ${previous} and ${join(directory, name)}`, { file: directory });
    files.set(lang, join(directory, name));
  }
  return { files, skipped };
}
