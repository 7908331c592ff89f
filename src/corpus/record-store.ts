import type { CanonicalRecord, Role } from "../record/canonical-record";
import { countCodePoints } from "../text/count-code-points";

/**
 * One record, encoded once as UTF-8: its JSONL line (with `\n`) followed by the raw bytes of every
 * Arrow field (id, lang, source, meta JSON, then role and content of each message). Writers copy
 * these bytes instead of serialising the record again for every composition it appears in.
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
  /** Shared table of field end offsets (relative to the end of the line)... */
  readonly fieldEnds: Uint32Array;
  /** ...from this index: id, lang, source, meta, then role and content of each message. */
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
    const line = JSON.stringify(record) + "\n";
    const meta = JSON.stringify(record.meta);
    const fieldCount = FIXED_FIELDS + 2 * record.messages.length;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit: reserve that, write, keep what was used.
    let bound = 3 * (line.length + record.id.length + record.lang.length + record.source.length + meta.length);
    for (const message of record.messages) bound += 3 * (message.role.length + message.content.length);
    if (this.used + bound > this.chunk.length) this.startChunk(bound);

    const index = this.ids.length;
    this.reserve(index + 1, this.fieldsUsed + fieldCount);
    const chunk = this.chunk;
    const start = this.used;
    const lineBytes = chunk.write(line, start, "utf8");
    const base = start + lineBytes;
    let offset = base;
    let field = this.fieldsUsed;
    const put = (text: string) => {
      offset += chunk.write(text, offset, "utf8");
      this.fieldEnds[field++] = offset - base;
    };
    put(record.id);
    put(record.lang);
    put(record.source);
    put(meta);
    let characters = 0;
    for (const message of record.messages) {
      put(message.role);
      put(message.content);
      characters += countCodePoints(message.content);
    }
    this.used = offset;
    const columns = this.columns;
    columns.chunkIndex[index] = this.chunks.length - 1;
    columns.start[index] = start;
    columns.lineBytes[index] = lineBytes;
    columns.fieldStart[index] = this.fieldsUsed;
    columns.fieldCount[index] = fieldCount;
    columns.characters[index] = characters;
    this.fieldsUsed = field;
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

/** Start and end (in `entry.chunk`) of field `index` (0 id, 1 lang, 2 source, 3 meta, then role/content pairs). */
export function fieldRange(entry: EncodedRecord, index: number): [start: number, end: number] {
  const base = entry.start + entry.lineBytes;
  const from = index === 0 ? 0 : entry.fieldEnds[entry.fieldStart + index - 1]!;
  return [base + from, base + entry.fieldEnds[entry.fieldStart + index]!];
}

/** Number of messages of an encoded record. */
export function messageCount(entry: EncodedRecord): number {
  return (entry.fieldCount - FIXED_FIELDS) / 2;
}

export function decodeRecord(entry: EncodedRecord): CanonicalRecord {
  const decoder = new TextDecoder();
  const text = (index: number) => {
    const [start, end] = fieldRange(entry, index);
    return decoder.decode(entry.chunk.subarray(start, end));
  };
  const messages = [];
  for (let index = FIXED_FIELDS; index < entry.fieldCount; index += 2) {
    messages.push({ role: text(index) as Role, content: text(index + 1) });
  }
  return { id: text(0), lang: text(1), source: text(2), messages, meta: JSON.parse(text(3)) as Record<string, unknown> };
}
