import { copyBytes } from "../io/copy-bytes";
import { JsonByte } from "../io/json-bytes";
import type { CanonicalRecord } from "../record/canonical-record";
import { ESCAPED_FLAG, RECORD_STRIDE, RecordSlot, type EncodedLanguage } from "../record/encoded-record";
import type { RawRecord } from "../record/raw-record";
import { countCodePoints } from "../text/count-code-points";

const ARENA_CHUNK_BYTES = 16 << 20;
const FIXED_FIELDS = 4;
const QUOTE = JsonByte.quote;
/** Languages, sources and roles up to this length have their JSON encoding cached. */
const MAX_CACHED_STRING = 16;

/** Encodes records into arena buffers; `finish` returns them in shared memory (see `EncodedLanguage`). */
export class RecordEncoder {
  private readonly ids: string[] = [];
  private readonly chunks: Uint8Array[] = [];
  /** Records are encoded here, in unshared memory, and copied to shared memory a chunk at a time (see `seal`). */
  private chunk: Buffer = Buffer.allocUnsafe(0);
  private chunkOpen = false;
  private used = 0;
  private records = new Uint32Array(1024 * RECORD_STRIDE);
  private fieldEnds = new Uint32Array(8192);
  private fieldsUsed = 0;
  /** Where the record being encoded starts in `chunk`, and the write position. */
  private lineStart = 0;
  private readonly syntax = new Map<string, Uint8Array>();
  private readonly shortStrings = new Map<string, { bytes: Uint8Array; escaped: boolean }>();
  private offset = 0;
  private rows = 0;

  constructor(private readonly lang: string) {}

  /**
   * Adds a record. Ids are not checked for repeats here, in the reading threads: the main thread's
   * `RecordStore` keeps the first record of an id as it indexes them anyway (one id lookup less per row).
   */
  add(record: CanonicalRecord): void {
    this.rows += 1;
    const contents = record.messages.map((message) => JSON.stringify(message.content));
    let bound = 0;
    for (const content of contents) bound += 3 * content.length;
    let characters = 0;
    for (const message of record.messages) characters += countCodePoints(message.content);
    this.encode(record, bound, characters, (turn) => {
      // JSON.stringify adds exactly the two quotes unless it had to escape something.
      const escaped = contents[turn]!.length !== record.messages[turn]!.content.length + 2;
      this.writeValue(FIXED_FIELDS + 2 * turn + 1, contents[turn]!, escaped);
    });
  }

  /** Adds a record whose texts are still JSON-escaped bytes of the input (copied, never decoded). */
  addRaw(record: RawRecord): void {
    this.rows += 1;
    let bound = 0;
    let characters = 0;
    for (const { content } of record.messages) {
      for (let index = 0; index < content.spans.length; index += 2) bound += content.spans[index + 1]! - content.spans[index]! + content.separator.length;
      characters += content.characters;
    }
    const bytes = record.bytes;
    this.encode(record, bound, characters, (turn) => {
      const { spans, separator, escaped } = record.messages[turn]!.content;
      const slot = this.fieldsUsed + 2 * (FIXED_FIELDS + 2 * turn + 1);
      this.fieldEnds[slot] = this.offset - this.lineStart;
      this.chunk[this.offset++] = QUOTE;
      for (let index = 0; index < spans.length; index += 2) {
        if (index > 0) this.writeLatin1(separator);
        this.offset = copyBytes(bytes, spans[index]!, spans[index + 1]!, this.chunk, this.offset);
      }
      this.chunk[this.offset++] = QUOTE;
      this.fieldEnds[slot + 1] = (this.offset - this.lineStart) | (escaped ? ESCAPED_FLAG : 0);
    });
  }

  /**
   * Writes one record's JSON line, exactly `JSON.stringify(record)` with keys in canonical order,
   * and records where each value sits; `writeContent(turn)` writes the content of a message.
   * `contentBytes` bounds the bytes of all contents as written.
   */
  private encode(
    record: Pick<CanonicalRecord, "id" | "lang" | "source" | "meta"> & { messages: readonly { role: string }[] },
    contentBytes: number,
    characters: number,
    writeContent: (turn: number) => void,
  ): void {
    const fieldCount = FIXED_FIELDS + 2 * record.messages.length;
    const meta = JSON.stringify(record.meta);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit and JSON escaping at most 6: reserve 6.
    let bound = 64 + 6 * (record.id.length + record.lang.length + record.source.length) + 3 * meta.length + contentBytes;
    for (const message of record.messages) bound += 40 + 6 * message.role.length;
    if (this.used + bound > this.chunk.length) this.startChunk(bound);
    const index = this.ids.length;
    this.reserve(index + 1, this.fieldsUsed + 2 * fieldCount);
    this.lineStart = this.used;
    this.offset = this.used;
    // Field slots: id 0, lang 1, source 2, meta 3, then role/content pairs from 4, in pairs of numbers.
    this.writeLatin1('{"id":');
    this.writeString(0, record.id);
    this.writeLatin1(',"lang":');
    this.writeRepeatedString(1, record.lang);
    this.writeLatin1(',"source":');
    this.writeRepeatedString(2, record.source);
    this.writeLatin1(',"messages":[');
    record.messages.forEach((message, turn) => {
      this.writeLatin1(turn === 0 ? '{"role":' : ',{"role":');
      this.writeRepeatedString(FIXED_FIELDS + 2 * turn, message.role);
      this.writeLatin1(',"content":');
      writeContent(turn);
      this.writeLatin1("}");
    });
    this.writeLatin1('],"meta":');
    // meta is JSON text and the Arrow column holds it as such: copied as is, never unescaped.
    this.writeValue(3, meta, false);
    this.writeLatin1("}\n");
    const start = this.lineStart;
    const lineBytes = this.offset - start;
    this.used = this.offset;
    const at = index * RECORD_STRIDE;
    const records = this.records;
    records[at + RecordSlot.chunk] = this.chunks.length; // the index `seal` will give the open chunk
    records[at + RecordSlot.start] = start;
    records[at + RecordSlot.lineBytes] = lineBytes;
    records[at + RecordSlot.fieldStart] = this.fieldsUsed;
    records[at + RecordSlot.fieldCount] = fieldCount;
    records[at + RecordSlot.characters] = characters;
    this.fieldsUsed += 2 * fieldCount;
    this.ids.push(record.id);
  }

  /** Writes ASCII text (the JSON syntax between values). */
  private writeLatin1(text: string): void {
    let bytes = this.syntax.get(text);
    if (bytes === undefined) this.syntax.set(text, (bytes = new Uint8Array(Buffer.from(text, "latin1"))));
    this.copyIn(bytes);
  }

  private writeString(slot: number, raw: string): void {
    const json = JSON.stringify(raw);
    this.writeValue(slot, json, json.length !== raw.length + 2);
  }

  private writeRepeatedString(slot: number, raw: string): void {
    if (raw.length > MAX_CACHED_STRING) {
      this.writeString(slot, raw);
      return;
    }
    // Languages, sources and roles repeat on every record: their JSON is encoded once.
    let cached = this.shortStrings.get(raw);
    if (cached === undefined) {
      const json = JSON.stringify(raw);
      this.shortStrings.set(raw, (cached = { bytes: new Uint8Array(Buffer.from(json, "utf8")), escaped: json.length !== raw.length + 2 }));
    }
    const at = this.fieldsUsed + 2 * slot;
    this.fieldEnds[at] = this.offset - this.lineStart;
    this.copyIn(cached.bytes);
    this.fieldEnds[at + 1] = (this.offset - this.lineStart) | (cached.escaped ? ESCAPED_FLAG : 0);
  }

  /** Writes JSON text as the value of field `slot` and records its range (flagged when escaped). */
  private writeValue(slot: number, json: string, escaped: boolean): void {
    const at = this.fieldsUsed + 2 * slot;
    this.fieldEnds[at] = this.offset - this.lineStart;
    this.offset += this.chunk.write(json, this.offset, "utf8");
    this.fieldEnds[at + 1] = (this.offset - this.lineStart) | (escaped ? ESCAPED_FLAG : 0);
  }

  private copyIn(bytes: Uint8Array): void {
    const chunk = this.chunk;
    let offset = this.offset;
    for (let index = 0; index < bytes.length; index += 1) chunk[offset++] = bytes[index]!;
    this.offset = offset;
  }

  finish(): EncodedLanguage {
    this.seal();
    if (this.chunk.length > 0 && spareEncodingChunks.length === 0) spareEncodingChunks.push(this.chunk);
    this.chunk = Buffer.allocUnsafe(0);
    const count = this.ids.length;
    return {
      lang: this.lang,
      ids: this.ids,
      chunks: this.chunks,
      records: sharedCopy(this.records, count * RECORD_STRIDE),
      fieldEnds: sharedCopy(this.fieldEnds, this.fieldsUsed),
      rows: this.rows,
    };
  }

  private startChunk(minimum: number): void {
    this.seal();
    const bytes = Math.max(ARENA_CHUNK_BYTES, minimum);
    if (this.chunk.length < bytes) this.chunk = takeEncodingChunk(bytes);
    this.chunkOpen = true;
    this.used = 0;
  }

  /**
   * Moves the open chunk's bytes to shared memory, so that other threads read them without copies.
   * Encoding goes to unshared memory first because V8 copies into shared memory with atomic moves,
   * byte by byte unless both sides are aligned alike: one aligned copy per chunk is far cheaper
   * than many small unaligned ones. The shared chunk is exactly as long as its records.
   */
  private seal(): void {
    if (!this.chunkOpen) return;
    const shared = new Uint8Array(new SharedArrayBuffer(this.used));
    shared.set(new Uint8Array(this.chunk.buffer, this.chunk.byteOffset, this.used));
    this.chunks.push(shared);
    this.chunkOpen = false;
  }

  private reserve(records: number, fields: number): void {
    if (records * RECORD_STRIDE > this.records.length) {
      const bigger = new Uint32Array(this.records.length * 2);
      bigger.set(this.records);
      this.records = bigger;
    }
    if (fields > this.fieldEnds.length) {
      const bigger = new Uint32Array(Math.max(fields, this.fieldEnds.length * 2));
      bigger.set(this.fieldEnds);
      this.fieldEnds = bigger;
    }
  }
}

/** The encoding chunk of the last finished encoder, for the next (per thread): fresh memory costs page faults. */
const spareEncodingChunks: Buffer[] = [];

function takeEncodingChunk(bytes: number): Buffer {
  const spare = spareEncodingChunks.pop();
  return spare !== undefined && spare.length >= bytes ? spare : Buffer.allocUnsafeSlow(bytes);
}

function sharedCopy(array: Uint32Array, count: number): Uint32Array {
  const copy = new Uint32Array(new SharedArrayBuffer(4 * count));
  copy.set(array.subarray(0, count));
  return copy;
}
