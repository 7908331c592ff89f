import { stat } from "node:fs/promises";
import { z } from "zod";
import { countCodePoints } from "../text/count-code-points";
import { readSource, sourceFormatSchema } from "../sources/read-source";
import { InputError } from "../errors";
import { listLanguageFiles, type SkippedFile } from "../corpus/list-language-files";
import { parseOptions } from "../parse-options";

export const inspectDatasetOptionsSchema = z.strictObject({
  /** A data file, or a directory of per-language files. */
  path: z.string().min(1),
  format: sourceFormatSchema.optional(),
});
export type InspectDatasetOptions = z.input<typeof inspectDatasetOptionsSchema>;

export interface LanguageStatistics {
  rows: number;
  ids: number;
  turns: { min: number; max: number; mean: number };
  multiTurnRows: number;
  characters: number;
  meanCharacters: number;
}

export interface DatasetInspection {
  path: string;
  files: string[];
  /** Data files of the folder that were not read because their names are no language code. */
  skippedFiles: SkippedFile[];
  rows: number;
  languages: string[];
  /** Distinct ids over all languages. */
  ids: number;
  /** Ids present in every language. */
  idsInEveryLanguage: number;
  sources: Record<string, number>;
  perLanguage: Record<string, LanguageStatistics>;
}

/** Rows, languages, ids, turns and characters of a dataset, per language. */
export async function inspectDataset(options: InspectDatasetOptions): Promise<DatasetInspection> {
  const { path, format } = parseOptions(inspectDatasetOptionsSchema, options, "inspectDataset");
  const listed = (await stat(path)).isDirectory() ? await listLanguageFiles(path) : undefined;
  const files = listed ? Array.from(listed.files.values()) : [path];
  if (listed && files.length === 0) throw new InputError("no per-language data files (expected names like en.jsonl, de.json.gz, fr.arrow)", { file: path });
  const idsByLanguage = new Map<string, Set<string>>();
  const statistics = new Map<string, { rows: number; turnsMin: number; turnsMax: number; turns: number; multi: number; characters: number }>();
  const sources: Record<string, number> = {};
  let rows = 0;
  for (const file of files) {
    const before = rows;
    for await (const record of readSource({ path: file, ...(format ? { format } : {}) })) {
      rows += 1;
      sources[record.source] = (sources[record.source] ?? 0) + 1;
      let ids = idsByLanguage.get(record.lang);
      if (!ids) idsByLanguage.set(record.lang, (ids = new Set()));
      ids.add(record.id);
      let entry = statistics.get(record.lang);
      if (!entry) statistics.set(record.lang, (entry = { rows: 0, turnsMin: Infinity, turnsMax: 0, turns: 0, multi: 0, characters: 0 }));
      const turns = record.messages.filter((message) => message.role === "user").length;
      entry.rows += 1;
      entry.turns += turns;
      entry.turnsMin = Math.min(entry.turnsMin, turns);
      entry.turnsMax = Math.max(entry.turnsMax, turns);
      if (turns > 1) entry.multi += 1;
      for (const message of record.messages) entry.characters += countCodePoints(message.content);
    }
    if (rows === before) throw new InputError("has no rows (an empty file or an empty JSON array [])", { file });
  }
  const languages = Array.from(idsByLanguage.keys()).sort();
  const allIds = new Set<string>();
  for (const ids of idsByLanguage.values()) for (const id of ids) allIds.add(id);
  let idsInEveryLanguage = 0;
  for (const id of allIds) if (languages.every((lang) => idsByLanguage.get(lang)!.has(id))) idsInEveryLanguage += 1;
  const perLanguage: Record<string, LanguageStatistics> = {};
  for (const lang of languages) {
    const entry = statistics.get(lang)!;
    perLanguage[lang] = {
      rows: entry.rows,
      ids: idsByLanguage.get(lang)!.size,
      turns: { min: entry.turnsMin, max: entry.turnsMax, mean: round(entry.turns / entry.rows) },
      multiTurnRows: entry.multi,
      characters: entry.characters,
      meanCharacters: round(entry.characters / entry.rows),
    };
  }
  return { path, files, skippedFiles: listed?.skipped ?? [], rows, languages, ids: allIds.size, idsInEveryLanguage, sources, perLanguage };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
