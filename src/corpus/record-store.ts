import type { CanonicalRecord } from "../record/canonical-record";
import { countCodePoints } from "../text/count-code-points";

/**
 * One record, encoded once: its JSONL line as UTF-8 (with `\n`), plus where each field's value sits
 * in that line (id, lang, source, meta, then role and content of each message). JSONL writers copy
 * the line; Arrow writers copy each value without its quotes, and unescape only the values that
 * JSON had to escape (flagged), so one copy of the text serves both formats.
 */
export interface EncodedRecord {
  readonly id: string;
  readonly lang: string;
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

/** Records of one language encoded into transferable buffers (what a loading worker sends back). */
export interface EncodedLanguage {
  lang: string;
  ids: string[];
  chunks: Uint8Array[];
  /** Per record: chunk index, start, line bytes, first field index, field count, characters. */
  chunkIndex: Uint32Array;
  start: Uint32Array;
  lineBytes: Uint32Array;
  fieldStart: Uint32Array;
  fieldCount: Uint32Array;
  characters: Uint32Array;
  fieldEnds: Uint32Array;
  /** Rows read, and rows dropped because their id was already present. */
  rows: number;
  duplicates: number;
}

const ARENA_CHUNK_BYTES = 16 << 20;
const FIXED_FIELDS = 4;
/** Set on a value's end offset when JSON escaped it (the Arrow writer must unescape it). */
export const ESCAPED_FLAG = 0x80000000;

/** Encodes records into arena buffers; `finish` returns the transferable encoded form. */
export class RecordEncoder {
  private readonly seen = new Set<string>();
  private readonly ids: string[] = [];
  private readonly chunks: Uint8Array[] = [];
  private chunk = Buffer.allocUnsafe(0);
  private used = 0;
  private columns = { chunkIndex: new Uint32Array(1024), start: new Uint32Array(1024), lineBytes: new Uint32Array(1024), fieldStart: new Uint32Array(1024), fieldCount: new Uint32Array(1024), characters: new Uint32Array(1024) };
  private fieldEnds = new Uint32Array(8192);
  private fieldsUsed = 0;
  private rows = 0;
  private duplicates = 0;

  constructor(private readonly lang: string) {}

  /** Adds a record; returns false (keeping the first) when its id is already present. */
  add(record: CanonicalRecord): boolean {
    this.rows += 1;
    if (this.seen.has(record.id)) {
      this.duplicates += 1;
      return false;
    }
    this.seen.add(record.id);
    const fieldCount = FIXED_FIELDS + 2 * record.messages.length;
    const meta = JSON.stringify(record.meta);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit and JSON escaping at most 6: reserve 6.
    let bound = 64 + 6 * (record.id.length + record.lang.length + record.source.length) + 3 * meta.length + 40 * record.messages.length;
    for (const message of record.messages) bound += 6 * (message.role.length + message.content.length);
    if (this.used + bound > this.chunk.length) this.startChunk(bound);

    const index = this.ids.length;
    this.reserve(index + 1, this.fieldsUsed + 2 * fieldCount);
    const chunk = this.chunk;
    const start = this.used;
    let offset = start;
    const ranges = this.fieldEnds;
    const text = (literal: string) => {
      offset += chunk.write(literal, offset, "latin1");
    };
    // Field slots: id 0, lang 1, source 2, meta 3, then role/content pairs from 4, in pairs of numbers.
    const string = (slot: number, raw: string) => {
      const json = JSON.stringify(raw);
      const at = this.fieldsUsed + 2 * slot;
      ranges[at] = offset - start;
      offset += chunk.write(json, offset, "utf8");
      // JSON.stringify adds exactly the two quotes unless it had to escape something.
      ranges[at + 1] = (offset - start) | (json.length === raw.length + 2 ? 0 : ESCAPED_FLAG);
    };
    // Must produce exactly JSON.stringify(record): keys in the canonical order.
    text('{"id":');
    string(0, record.id);
    text(',"lang":');
    string(1, record.lang);
    text(',"source":');
    string(2, record.source);
    text(',"messages":[');
    let characters = 0;
    record.messages.forEach((message, turn) => {
      text(turn === 0 ? '{"role":' : ',{"role":');
      string(FIXED_FIELDS + 2 * turn, message.role);
      text(',"content":');
      string(FIXED_FIELDS + 2 * turn + 1, message.content);
      text("}");
      characters += countCodePoints(message.content);
    });
    text('],"meta":');
    // meta is JSON text and the Arrow column holds it as such: copied as is, never unescaped.
    ranges[this.fieldsUsed + 6] = offset - start;
    offset += chunk.write(meta, offset, "utf8");
    ranges[this.fieldsUsed + 7] = offset - start;
    text("}\n");
    const lineBytes = offset - start;
    this.used = offset;
    const columns = this.columns;
    columns.chunkIndex[index] = this.chunks.length - 1;
    columns.start[index] = start;
    columns.lineBytes[index] = lineBytes;
    columns.fieldStart[index] = this.fieldsUsed;
    columns.fieldCount[index] = fieldCount;
    columns.characters[index] = characters;
    this.fieldsUsed += 2 * fieldCount;
    this.ids.push(record.id);
    return true;
  }

  finish(): EncodedLanguage {
    const count = this.ids.length;
    const { chunkIndex, start, lineBytes, fieldStart, fieldCount, characters } = this.columns;
    return {
      lang: this.lang,
      ids: this.ids,
      chunks: this.chunks.map((chunk, index) => (index === this.chunks.length - 1 ? chunk.subarray(0, this.used) : chunk)),
      chunkIndex: chunkIndex.slice(0, count),
      start: start.slice(0, count),
      lineBytes: lineBytes.slice(0, count),
      fieldStart: fieldStart.slice(0, count),
      fieldCount: fieldCount.slice(0, count),
      characters: characters.slice(0, count),
      fieldEnds: this.fieldEnds.slice(0, this.fieldsUsed),
      rows: this.rows,
      duplicates: this.duplicates,
    };
  }

  private startChunk(minimum: number): void {
    if (this.chunks.length > 0) this.chunks[this.chunks.length - 1] = this.chunk.subarray(0, this.used);
    // A fresh ArrayBuffer per chunk (not Node's shared pool), so chunks can be transferred.
    this.chunk = Buffer.from(new ArrayBuffer(Math.max(ARENA_CHUNK_BYTES, minimum)));
    this.chunks.push(this.chunk);
    this.used = 0;
  }

  private reserve(records: number, fields: number): void {
    if (records > this.columns.start.length) {
      const grow = (array: Uint32Array) => {
        const bigger = new Uint32Array(array.length * 2);
        bigger.set(array);
        return bigger;
      };
      const columns = this.columns;
      this.columns = {
        chunkIndex: grow(columns.chunkIndex),
        start: grow(columns.start),
        lineBytes: grow(columns.lineBytes),
        fieldStart: grow(columns.fieldStart),
        fieldCount: grow(columns.fieldCount),
        characters: grow(columns.characters),
      };
    }
    if (fields > this.fieldEnds.length) {
      const bigger = new Uint32Array(Math.max(fields, this.fieldEnds.length * 2));
      bigger.set(this.fieldEnds);
      this.fieldEnds = bigger;
    }
  }
}

/** Buffers to transfer (not copy) when an encoded language crosses a worker boundary. */
export function transferablesOf(encoded: EncodedLanguage): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const array of [...encoded.chunks, encoded.chunkIndex, encoded.start, encoded.lineBytes, encoded.fieldStart, encoded.fieldCount, encoded.characters, encoded.fieldEnds]) {
    buffers.add(array.buffer as ArrayBuffer);
  }
  return [...buffers];
}

/**
 * The records of one language, keyed by id, stored as encoded bytes in large arena buffers: about
 * two bytes per character of text and no per-string JavaScript objects. Behaves like a read-only
 * Map of canonical records (`get` decodes on demand); writers use `encoded`.
 */
export class RecordStore implements ReadonlyMap<string, CanonicalRecord> {
  private readonly byId = new Map<string, EncodedRecord>();

  constructor(encoded?: EncodedLanguage) {
    if (encoded) this.addEncoded(encoded);
  }

  /** Builds a store from records (ids already present are skipped). */
  static fromRecords(lang: string, records: Iterable<CanonicalRecord>): RecordStore {
    const encoder = new RecordEncoder(lang);
    for (const record of records) encoder.add(record);
    return new RecordStore(encoder.finish());
  }

  /** Adds encoded records; ids already present are skipped. Returns how many were skipped. */
  addEncoded(encoded: EncodedLanguage): number {
    let skipped = 0;
    // Plain Uint8Array views, not Buffers: subarray() on a Buffer goes through its species
    // constructor, which made copying fields ten times slower.
    const chunks = encoded.chunks.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    for (let index = 0; index < encoded.ids.length; index += 1) {
      const id = encoded.ids[index]!;
      if (this.byId.has(id)) {
        skipped += 1;
        continue;
      }
      this.byId.set(id, {
        id,
        lang: encoded.lang,
        chunk: chunks[encoded.chunkIndex[index]!]!,
        start: encoded.start[index]!,
        lineBytes: encoded.lineBytes[index]!,
        fieldEnds: encoded.fieldEnds,
        fieldStart: encoded.fieldStart[index]!,
        fieldCount: encoded.fieldCount[index]!,
        characters: encoded.characters[index]!,
      });
    }
    return skipped;
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  encoded(id: string): EncodedRecord | undefined {
    return this.byId.get(id);
  }

  /** Decodes a record from its stored fields. */
  get(id: string): CanonicalRecord | undefined {
    const entry = this.byId.get(id);
    return entry ? decodeRecord(entry) : undefined;
  }

  keys(): MapIterator<string> {
    return this.byId.keys();
  }

  *values(): MapIterator<CanonicalRecord> {
    for (const entry of this.byId.values()) yield decodeRecord(entry);
  }

  *entries(): MapIterator<[string, CanonicalRecord]> {
    for (const [id, entry] of this.byId) yield [id, decodeRecord(entry)];
  }

  [Symbol.iterator](): MapIterator<[string, CanonicalRecord]> {
    return this.entries();
  }

  forEach(callback: (value: CanonicalRecord, key: string, map: ReadonlyMap<string, CanonicalRecord>) => void): void {
    for (const [id, record] of this.entries()) callback(record, id, this as ReadonlyMap<string, CanonicalRecord>);
  }
}

/**
 * Where the value of field `index` (0 id, 1 lang, 2 source, 3 meta, then role/content pairs) sits
 * in `entry.chunk`: strings with their quotes. `escaped` is true when JSON escaped the value.
 */
export function fieldRange(entry: EncodedRecord, index: number): { start: number; end: number; escaped: boolean } {
  const at = entry.fieldStart + 2 * index;
  const end = entry.fieldEnds[at + 1]!;
  return { start: entry.start + entry.fieldEnds[at]!, end: entry.start + (end & ~ESCAPED_FLAG), escaped: (end & ESCAPED_FLAG) !== 0 };
}

/** Number of messages of an encoded record. */
export function messageCount(entry: EncodedRecord): number {
  return (entry.fieldCount - FIXED_FIELDS) / 2;
}

export function decodeRecord(entry: EncodedRecord): CanonicalRecord {
  const line = new TextDecoder().decode(entry.chunk.subarray(entry.start, entry.start + entry.lineBytes));
  return JSON.parse(line) as CanonicalRecord;
}
