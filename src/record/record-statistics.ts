import { countCodePoints } from "../text/count-code-points";
import type { EncodedRecord } from "./encoded-record";
import type { CanonicalRecord } from "./canonical-record";

/** Code points of all message contents of a record. */
export function recordCharacters(record: CanonicalRecord): number {
  let total = 0;
  for (const message of record.messages) total += countCodePoints(message.content);
  return total;
}

export interface RecordStatistics {
  rows: number;
  rowsPerLanguage: Record<string, number>;
  charactersPerLanguage: Record<string, number>;
}

/** Rows and characters per language, with languages in sorted order for stable manifests. */
export function summariseRecords(records: Iterable<CanonicalRecord>): RecordStatistics {
  return summarise(records, recordCharacters);
}

/** `summariseRecords` for encoded records, whose characters were counted once when stored. */
export function summariseEncodedRecords(records: Iterable<EncodedRecord>): RecordStatistics {
  return summarise(records, (record) => record.characters);
}

function summarise<T extends { lang: string }>(records: Iterable<T>, charactersOf: (record: T) => number): RecordStatistics {
  const rowsPerLanguage: Record<string, number> = {};
  const charactersPerLanguage: Record<string, number> = {};
  let rows = 0;
  for (const record of records) {
    rows += 1;
    rowsPerLanguage[record.lang] = (rowsPerLanguage[record.lang] ?? 0) + 1;
    charactersPerLanguage[record.lang] = (charactersPerLanguage[record.lang] ?? 0) + charactersOf(record);
  }
  const sorted = (values: Record<string, number>) =>
    Object.fromEntries(Object.entries(values).sort(([left], [right]) => (left < right ? -1 : 1)));
  return { rows, rowsPerLanguage: sorted(rowsPerLanguage), charactersPerLanguage: sorted(charactersPerLanguage) };
}
