import { basename } from "node:path";
import { z } from "zod";
import { InputError } from "../errors";
import { readRows } from "../io/read-rows";
import type { CanonicalRecord } from "../record/canonical-record";
import { isIso639_1 } from "../record/language-codes";
import { isAlpacaRow, normaliseAlpacaRow } from "./alpaca";
import { isBactrianXRow, normaliseBactrianXRow } from "./bactrian-x";
import { isCanonicalRow, normaliseCanonicalRow } from "./canonical";
import { isPromptResponseRow, isTurnTableRow, normalisePromptResponseRow, normaliseTurnTableRow } from "./csv-table";
import { checkMessages } from "./check-messages";
import { fail, type RowContext } from "./field-checks";
import { isLimaRow, normaliseLimaRow } from "./lima";
import { isMtBenchQuestionRow, normaliseMtBenchQuestionRow } from "./mt-bench-question";
import { isOpenAIMessagesRow, normaliseOpenAIMessagesRow } from "./openai-messages";
import { isShareGptRow, normaliseShareGptRow } from "./sharegpt";
import { parseOptions } from "../parse-options";

interface SourceFormatSpec {
  matches(row: Record<string, unknown>): boolean;
  normalise(value: unknown, context: RowContext): CanonicalRecord;
  fields: string;
}

// Detection tries these in order, so more specific shapes come first (a canonical record also has
// `messages`; a Bactrian-X row is an Alpaca row with an id).
const FORMATS = {
  canonical: { matches: isCanonicalRow, normalise: normaliseCanonicalRow, fields: "id, lang, source, messages, meta" },
  messages: { matches: isOpenAIMessagesRow, normalise: normaliseOpenAIMessagesRow, fields: "messages[{role, content}]" },
  sharegpt: { matches: isShareGptRow, normalise: normaliseShareGptRow, fields: "conversations[{from, value}]" },
  lima: { matches: isLimaRow, normalise: normaliseLimaRow, fields: "conversations[string], source" },
  "bactrian-x": { matches: isBactrianXRow, normalise: normaliseBactrianXRow, fields: "instruction, input, id, output" },
  alpaca: { matches: isAlpacaRow, normalise: normaliseAlpacaRow, fields: "instruction, input, output" },
  "mt-bench": { matches: isMtBenchQuestionRow, normalise: normaliseMtBenchQuestionRow, fields: "question_id, category, turns" },
  "turn-table": { matches: isTurnTableRow, normalise: normaliseTurnTableRow, fields: "id, lang, role_1, content_1, ..." },
  "prompt-response": { matches: isPromptResponseRow, normalise: normalisePromptResponseRow, fields: "prompt, response" },
} satisfies Record<string, SourceFormatSpec>;

/** The input formats a source loader knows. */
export const SOURCE_FORMATS = Object.keys(FORMATS) as SourceFormat[];
export type SourceFormat = keyof typeof FORMATS;

export const sourceFormatSchema = z.enum(SOURCE_FORMATS as [SourceFormat, ...SourceFormat[]]);

export const readSourceOptionsSchema = z.strictObject({
  /** File to read (.jsonl, .json, .json.gz, .arrow, .csv, .parquet, with optional .gz). */
  path: z.string().min(1),
  /** Force a format instead of detecting it from the first row's fields. */
  format: sourceFormatSchema.optional(),
  /** Language of every row; default: from the file name (`de.jsonl`) or the rows' `lang` field. */
  lang: z.string().optional(),
  /** Value of the records' `source` field; default: the format's name (`lima`, `bactrian-x`, ...). */
  source: z.string().optional(),
  /** Keep rows with an empty message instead of failing on the first one (`--allow-empty`). */
  allowEmpty: z.boolean().optional(),
});
export type ReadSourceOptions = z.input<typeof readSourceOptionsSchema>;

/** `data/de.json.gz` -> `"de"`; undefined when the file is not named after a language. */
export function languageFromFileName(path: string): string | undefined {
  const stem = basename(path).toLowerCase().split(".")[0] ?? "";
  return isIso639_1(stem) ? stem : undefined;
}

/** Picks the first known format whose fields the row has, or throws naming what it saw. */
export function detectSourceFormat(row: unknown, location: RowContext["location"]): SourceFormat {
  if (row === null || typeof row !== "object" || Array.isArray(row)) {
    throw new InputError("expected each row to be a JSON object", location);
  }
  const record = row as Record<string, unknown>;
  for (const name of SOURCE_FORMATS) if (FORMATS[name].matches(record)) return name;
  const known = SOURCE_FORMATS.map((name) => `${name} (${FORMATS[name].fields})`).join("; ");
  throw new InputError(`unrecognised format: the row has fields [${Object.keys(record).join(", ")}]; known formats: ${known}`, location);
}

/** Normalises one raw row of a known format to a canonical record, checking its language code. */
export function normaliseRow(value: unknown, format: SourceFormat, context: RowContext): CanonicalRecord {
  const record = FORMATS[format].normalise(value, context);
  if (!isIso639_1(record.lang)) fail(context, "lang", `"${record.lang}" is not a lowercase ISO 639-1 language code`);
  return checkMessages(record, context);
}

/**
 * Streams a file as canonical records: the container is chosen by extension, the record format is
 * detected from the first row (or forced with `format`), and every row is validated, so a bad row
 * raises an InputError that names the file, line and field.
 */
export async function* readSource(options: ReadSourceOptions): AsyncGenerator<CanonicalRecord> {
  const { path, format, lang, source, allowEmpty } = parseOptions(readSourceOptionsSchema, options, "readSource");
  if (lang !== undefined && !isIso639_1(lang)) {
    throw new InputError(`"${lang}" is not a lowercase ISO 639-1 language code`, { file: path, field: "lang" });
  }
  const fileLang = lang ?? languageFromFileName(path);
  let detected = format;
  let index = 0;
  for await (const { value, location } of readRows(path)) {
    detected ??= detectSourceFormat(value, location);
    yield normaliseRow(value, detected, { location, index, lang: fileLang, source, ...(allowEmpty ? { allowEmpty } : {}) });
    index += 1;
  }
}
