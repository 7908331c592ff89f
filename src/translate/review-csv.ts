import { writeToString } from "fast-csv";
import { InputError } from "../errors";
import { readCsv } from "../io/csv";
import { writeFileAtomic } from "../io/atomic-write";
import type { TranslationCorrection } from "./translate-documents";

/** Columns of review.csv, in order. Reviewers fill in `correction`; everything else is context. */
export const REVIEW_COLUMNS = ["id", "lang", "turn", "segment", "issues", "source", "translation", "correction"] as const;

/** One row of review.csv: one translated segment in one language. */
export interface ReviewRow {
  readonly id: string;
  readonly lang: string;
  /** 0-based message index in the conversation. */
  readonly turn: number;
  /** 0-based segment index within the message. */
  readonly segment: number;
  /** Issue kinds, `;`-separated; empty for rows shown because they were corrected. */
  readonly issues: string;
  readonly source: string;
  readonly translation: string;
  /** The human correction (the whole translated segment), or empty. */
  readonly correction: string;
}

/** Writes review.csv atomically (fast-csv, header row, every field quoted where needed). */
export async function writeReviewCsv(path: string, rows: readonly ReviewRow[]): Promise<void> {
  const text = await writeToString(
    rows.map((row) => REVIEW_COLUMNS.map((column) => String(row[column]))),
    { headers: [...REVIEW_COLUMNS], writeHeaders: true, alwaysWriteHeaders: true },
  );
  await writeFileAtomic(path, text + "\n");
}

/**
 * Reads an edited review.csv: every row with a non-empty `correction` becomes an override for
 * that source segment in that language. Other rows are ignored, so the file can be edited in place.
 */
export async function readCorrections(path: string): Promise<TranslationCorrection[]> {
  const corrections: TranslationCorrection[] = [];
  for await (const { value, line } of readCsv(path)) {
    for (const column of ["lang", "source", "correction"] as const) {
      if (!(column in value)) {
        throw new InputError(`missing column "${column}"; expected the columns of review.csv (${REVIEW_COLUMNS.join(", ")})`, {
          file: path,
          line,
          field: column,
        });
      }
    }
    const correction = value.correction ?? "";
    if (correction.trim() === "") continue;
    if (!value.lang) throw new InputError("empty language", { file: path, line, field: "lang" });
    corrections.push({ to: value.lang, source: value.source ?? "", translation: correction });
  }
  return corrections;
}
