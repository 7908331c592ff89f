import type { CanonicalRecord } from "../record/canonical-record";
import { RECORD_STRIDE, RecordSlot, type EncodedLanguage, type EncodedLanguageData, type EncodedRecord } from "../record/encoded-record";
import { decodeRecord } from "./decode-record";
import { RecordEncoder } from "./record-encoder";

/**
 * The records of one language, keyed by id, stored as encoded bytes in large arena buffers: about
 * two bytes per character of text and no per-string JavaScript objects. Behaves like a read-only
 * Map of canonical records (`get` decodes on demand); writers use `encoded`.
 */
export class RecordStore implements ReadonlyMap<string, CanonicalRecord> {
  /** id -> position: record index times the part count, plus the part it is in. */
  private readonly byId = new Map<string, number>();
  private readonly parts: { encoded: EncodedLanguage; chunks: Uint8Array[] }[] = [];
  private partSlots = 1;

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
    const part = this.parts.length;
    if (part >= this.partSlots) this.repack(2 * this.partSlots);
    // Plain Uint8Array views, not Buffers: subarray() on a Buffer goes through its species
    // constructor, which made copying fields ten times slower.
    this.parts.push({ encoded, chunks: encoded.chunks.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)) });
    let skipped = 0;
    for (let index = 0; index < encoded.ids.length; index += 1) {
      const id = encoded.ids[index]!;
      if (this.byId.has(id)) skipped += 1;
      else this.byId.set(id, index * this.partSlots + part);
    }
    return skipped;
  }

  /** The encoded language holding an id's record, and the record's index there. */
  locate(id: string): { language: EncodedLanguageData; index: number } | undefined {
    const position = this.byId.get(id);
    if (position === undefined) return undefined;
    return { language: this.parts[position % this.partSlots]!.encoded, index: Math.floor(position / this.partSlots) };
  }

  private repack(partSlots: number): void {
    for (const [id, position] of this.byId) {
      this.byId.set(id, Math.floor(position / this.partSlots) * partSlots + (position % this.partSlots));
    }
    this.partSlots = partSlots;
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  encoded(id: string): EncodedRecord | undefined {
    const position = this.byId.get(id);
    if (position === undefined) return undefined;
    const { encoded, chunks } = this.parts[position % this.partSlots]!;
    const index = Math.floor(position / this.partSlots);
    const numbers = encoded.records.subarray(index * RECORD_STRIDE, (index + 1) * RECORD_STRIDE);
    return {
      id,
      lang: encoded.lang,
      language: encoded,
      index,
      chunk: chunks[numbers[RecordSlot.chunk]!]!,
      start: numbers[RecordSlot.start]!,
      lineBytes: numbers[RecordSlot.lineBytes]!,
      fieldEnds: encoded.fieldEnds,
      fieldStart: numbers[RecordSlot.fieldStart]!,
      fieldCount: numbers[RecordSlot.fieldCount]!,
      characters: numbers[RecordSlot.characters]!,
    };
  }

  /** Decodes a record from its stored fields. */
  get(id: string): CanonicalRecord | undefined {
    const entry = this.encoded(id);
    return entry ? decodeRecord(entry) : undefined;
  }

  keys(): MapIterator<string> {
    return this.byId.keys();
  }

  *values(): MapIterator<CanonicalRecord> {
    for (const id of this.byId.keys()) yield decodeRecord(this.encoded(id)!);
  }

  *entries(): MapIterator<[string, CanonicalRecord]> {
    for (const id of this.byId.keys()) yield [id, decodeRecord(this.encoded(id)!)];
  }

  [Symbol.iterator](): MapIterator<[string, CanonicalRecord]> {
    return this.entries();
  }

  forEach(callback: (value: CanonicalRecord, key: string, map: ReadonlyMap<string, CanonicalRecord>) => void): void {
    for (const [id, record] of this.entries()) callback(record, id, this as ReadonlyMap<string, CanonicalRecord>);
  }
}
