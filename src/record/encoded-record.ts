/**
 * One record, encoded once: its JSONL line as UTF-8 (with `\n`), plus where each field's value sits
 * in that line (id, lang, source, meta, then role and content of each message). JSONL writers copy
 * the line; Arrow writers copy each value without its quotes, and unescape only the values that
 * JSON had to escape (flagged), so one copy of the text serves both formats.
 */
export interface EncodedRecord {
  readonly id: string;
  readonly lang: string;
  /** The encoded language it belongs to, and its index there (how writer threads address it). */
  readonly language: EncodedLanguageData;
  readonly index: number;
  /** Arena chunk holding the bytes. */
  readonly chunk: Uint8Array;
  /** Start of the JSONL line in `chunk`. */
  readonly start: number;
  /** Bytes of the JSONL line, including its `\n`. */
  readonly lineBytes: number;
  /** Shared table of [start, end] byte offsets of values in the line (strings with their quotes; end has ESCAPED_FLAG set when JSON escaped the value)... */
  readonly fieldEnds: Uint32Array;
  /** ...from this pair index on: id, lang, source, meta, then role and content of each message. */
  readonly fieldStart: number;
  readonly fieldCount: number;
  /** Unicode code points of all message contents. */
  readonly characters: number;
}

/**
 * Records of one language encoded into `SharedArrayBuffer`s: a loading worker hands them to the
 * main thread, and writer threads read them, without copies.
 */
export interface EncodedLanguage extends EncodedLanguageData {
  lang: string;
  /** Each record's id, in order; an id given twice is there twice (`RecordStore` keeps the first). */
  ids: string[];
  /** Rows read. */
  rows: number;
}

/** The bytes and offsets of an encoded language: what writers need (see `EncodedRows`). */
export interface EncodedLanguageData {
  chunks: Uint8Array[];
  /** Per record, RECORD_STRIDE numbers side by side (one cache line for a writer's random access): see `RecordSlot`. */
  records: Uint32Array;
  /** Table of [start, end] byte offsets of values in the lines (see `EncodedRecord.fieldEnds`). */
  fieldEnds: Uint32Array;
}

/** What each of a record's RECORD_STRIDE numbers in `EncodedLanguageData.records` holds. */
export const RecordSlot = { chunk: 0, start: 1, lineBytes: 2, fieldStart: 3, fieldCount: 4, characters: 5 } as const;
export const RECORD_STRIDE = 6;

/** Set on a value's end offset when JSON escaped it (the Arrow writer must unescape it). */
export const ESCAPED_FLAG = 0x80000000;
