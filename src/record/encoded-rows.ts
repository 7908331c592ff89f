import type { EncodedLanguageData, EncodedRecord } from "./encoded-record";

/**
 * Rows to write, as plain data that crosses thread boundaries without copying text: `rows` holds
 * (language slot, record index) pairs into `languages`, whose buffers are shared memory.
 */
export interface EncodedRows {
  languages: EncodedLanguageData[];
  rows: Uint32Array;
}

/** The rows of encoded records, in order. */
export function toEncodedRows(records: readonly EncodedRecord[]): EncodedRows {
  const slots = new Map<EncodedLanguageData, number>();
  const rows = new Uint32Array(2 * records.length);
  records.forEach((record, row) => {
    let slot = slots.get(record.language);
    if (slot === undefined) slots.set(record.language, (slot = slots.size));
    rows[2 * row] = slot;
    rows[2 * row + 1] = record.index;
  });
  return { languages: Array.from(slots.keys(), writerView), rows };
}

/** Only what writers read: no ids, so posting rows to a thread copies no strings. */
export function writerView(language: EncodedLanguageData): EncodedLanguageData {
  const { chunks, records, fieldEnds } = language;
  return { chunks, records, fieldEnds };
}
