import { makeData, RecordBatch, Struct, Utf8, type List } from "apache-arrow";
import type { EncodedRows } from "../corpus/encoded-rows";
import { ESCAPED_FLAG, RECORD_STRIDE, RecordSlot, type EncodedLanguageData } from "../corpus/record-store";
import { ARROW_BATCH_ROWS, canonicalArrowSchema, writeRecordBatches } from "./arrow";
import { unescapeJsonString } from "./unescape-json-string";
import { openAtomicFile } from "./atomic-write";
import { BufferedOutput } from "./buffered-output";
import { LOOP_COPY_LIMIT } from "./copy-bytes";
import { JsonByte } from "./json-bytes";
import type { WrittenFile } from "./jsonl";

/**
 * Writes encoded rows as JSONL by copying their stored lines into large output buffers: no
 * serialisation, no string encoding. Gzip when the path ends in `.gz`; atomic.
 */
export async function writeEncodedJsonl(path: string, table: EncodedRows): Promise<WrittenFile> {
  const { rows } = table;
  const { languages } = table;
  const file = await openAtomicFile(path, { gzip: path.toLowerCase().endsWith(".gz") });
  try {
    const output = new BufferedOutput(file);
    for (let row = 0; row < rows.length; row += 2) {
      const language = languages[rows[row]!]!;
      const index = rows[row + 1]!;
      const at = index * RECORD_STRIDE;
      const start = language.records[at + RecordSlot.start]!;
      const lineBytes = language.records[at + RecordSlot.lineBytes]!;
      if (lineBytes > output.room) await output.flush();
      output.append(language.chunks[language.records[at + RecordSlot.chunk]!]!, start, start + lineBytes);
    }
    await output.finish();
    const { sha256, bytes } = await file.commit();
    return { rows: rows.length / 2, sha256, bytes };
  } catch (error) {
    await file.abort();
    throw error;
  }
}

/** Writes encoded rows as an Arrow IPC file with the canonical schema, copying stored field bytes. */
export async function writeEncodedArrow(path: string, table: EncodedRows, options: { batchRows?: number } = {}): Promise<WrittenFile> {
  const batchRows = options.batchRows ?? ARROW_BATCH_ROWS;
  const { languages } = table;
  const count = table.rows.length / 2;
  // writeRecordBatches copies each batch out before asking for the next: one set of buffers serves
  // all, and the next file after this one.
  const scratch = spareScratch.pop() ?? newBatchScratch();
  const chunkBuffers = languages.map((language) => language.chunks.map((chunk) => chunk.buffer));
  function* batches(): Generator<RecordBatch> {
    for (let start = 0; start < count || start === 0; start += batchRows) {
      yield buildEncodedRecordBatch(languages, chunkBuffers, table.rows.subarray(2 * start, 2 * Math.min(count, start + batchRows)), scratch);
      if (count === 0) return;
    }
  }
  const written = await writeRecordBatches(path, batches());
  spareScratch.push(scratch);
  return written;
}

/** Column buffers of finished files (per thread): reused, they cost no page faults. */
const spareScratch: BatchScratch[] = [];

/** Column buffers reused from one batch to the next (see `writeRecordBatches`), grown as needed. */
interface BatchScratch {
  data: Uint8Array[];
  offsets: Int32Array[];
  listOffsets: Int32Array;
  /** Per column: bytes and values written in the batch being built. */
  written: Int32Array;
  counts: Int32Array;
}

function newBatchScratch(): BatchScratch {
  return {
    data: Array.from({ length: COLUMNS }, () => new Uint8Array(1 << 16)),
    offsets: Array.from({ length: COLUMNS }, () => new Int32Array(1 << 10)),
    listOffsets: new Int32Array(1 << 10),
    written: new Int32Array(COLUMNS),
    counts: new Int32Array(COLUMNS),
  };
}

/**
 * One record batch from encoded rows ((language, index) pairs), built in `scratch`. Values are
 * copied from each record's stored JSON line without their quotes; those JSON escaped (a newline,
 * a quote) are unescaped on the way. All six string columns are filled in one pass over the rows:
 * rows sit at random places of the corpus (compositions are shuffled), so touching each row once
 * saves most of the memory traffic.
 */
function buildEncodedRecordBatch(
  languages: readonly EncodedLanguageData[],
  chunkBuffers: readonly ArrayBufferLike[][],
  rows: Uint32Array,
  scratch: BatchScratch,
): RecordBatch {
  const length = rows.length / 2;
  if (scratch.listOffsets.length < length + 1) scratch.listOffsets = new Int32Array(2 * (length + 1));
  fillColumns(languages, chunkBuffers, rows, scratch);
  const { written, counts } = scratch;
  const utf8 = (column: number) =>
    makeData({
      type: new Utf8(),
      length: counts[column]!,
      nullCount: 0,
      valueOffsets: scratch.offsets[column]!.subarray(0, counts[column]! + 1),
      data: scratch.data[column]!.subarray(0, written[column]!),
    });
  const messages = counts[CONTENT_COLUMN]!;
  const messageType = (canonicalArrowSchema.fields[3]!.type as List).children[0]!.type as Struct;
  const messageData = makeData({ type: messageType, length: messages, nullCount: 0, children: [utf8(ROLE_COLUMN), utf8(CONTENT_COLUMN)] });
  const listType = canonicalArrowSchema.fields[3]!.type as List;
  const structData = makeData({
    type: new Struct(canonicalArrowSchema.fields),
    length,
    nullCount: 0,
    children: [utf8(0), utf8(1), utf8(2), makeData({ type: listType, length, nullCount: 0, valueOffsets: scratch.listOffsets.subarray(0, length + 1), child: messageData }), utf8(META_FIELD)],
  });
  return new RecordBatch(canonicalArrowSchema, structData);
}

/**
 * The hot loop of `buildEncodedRecordBatch`, on its own: with the Arrow calls after it in the
 * same function, V8 optimised the loop on the fly and then threw the code away at those calls,
 * every batch (measured: building batches 4x slower).
 *
 * Each row's line is first copied out of shared memory whole, into `line` at the same address
 * modulo 8, so that V8 copies it a word at a time (see `copyBytes`); its values are then copied
 * from there with plain copies. Per value from shared memory, the copy cost a third more.
 */
function fillColumns(languages: readonly EncodedLanguageData[], chunkBuffers: readonly ArrayBufferLike[][], rows: Uint32Array, scratch: BatchScratch): void {
  const written = scratch.written.fill(0);
  const counts = scratch.counts.fill(0);
  const listOffsets = scratch.listOffsets;
  listOffsets[0] = 0;
  for (let row = 0; row < rows.length; row += 2) {
    const slot = rows[row]!;
    const language = languages[slot]!;
    const numbers = rows[row + 1]! * RECORD_STRIDE;
    const records = language.records;
    const chunkIndex = records[numbers + RecordSlot.chunk]!;
    const lineBytes = records[numbers + RecordSlot.lineBytes]!;
    const fieldStart = records[numbers + RecordSlot.fieldStart]!;
    const fieldCount = records[numbers + RecordSlot.fieldCount]!;
    // A value never has more bytes than its line: one check per row makes room for all of them.
    reserveRow(scratch, lineBytes, fieldCount);
    const lineStart = stageLine(language.chunks[chunkIndex]!, chunkBuffers[slot]![chunkIndex]!, records[numbers + RecordSlot.start]!, lineBytes);
    const ranges = language.fieldEnds;
    const { data, offsets } = scratch;
    for (let field = 0; field < fieldCount; field += 1) {
      const at = fieldStart + 2 * field;
      const start = lineStart + ranges[at]!;
      const endWithFlag = ranges[at + 1]!;
      const end = lineStart + (endWithFlag & ~ESCAPED_FLAG);
      const column = field < ROLE_COLUMN ? field : ROLE_COLUMN + (field & 1);
      const target = data[column]!;
      let offset: number;
      if (field === META_FIELD) offset = copyFromLine(start, end, target, written[column]!);
      else if ((endWithFlag & ESCAPED_FLAG) === 0) offset = copyFromLine(start + 1, end - 1, target, written[column]!);
      else offset = unescapeJsonString(line, start + 1, end - 1, target, written[column]!);
      written[column] = offset;
      offsets[column]![++counts[column]!] = offset;
    }
    listOffsets[row / 2 + 1] = listOffsets[row / 2]! + (fieldCount - ROLE_COLUMN) / 2;
  }
}

/** The row being copied into columns, out of shared memory (per thread), and its buffer. */
let line = new Uint8Array(1 << 16);
let lineBuffer = line.buffer;

/**
 * Copies a line from its chunk into `line`, at the chunk address's alignment, followed by a
 * backslash (so that `unescapeJsonString`'s search for the next one ends at the line's end), and
 * returns where it starts there.
 */
function stageLine(chunk: Uint8Array, buffer: ArrayBufferLike, start: number, lineBytes: number): number {
  const from = chunk.byteOffset + start;
  const shift = from & 7;
  if (shift + lineBytes + 1 > line.length) {
    line = new Uint8Array(2 * (shift + lineBytes + 1));
    lineBuffer = line.buffer;
  }
  line.set(new Uint8Array(buffer, from, lineBytes), shift);
  line[shift + lineBytes] = JsonByte.backslash;
  return shift;
}

/** Copies `line[start, end)` into `target` at `offset` and returns the offset after it. */
function copyFromLine(start: number, end: number, target: Uint8Array, offset: number): number {
  const length = end - start;
  if (length < LOOP_COPY_LIMIT) {
    for (let index = 0; index < length; index += 1) target[offset + index] = line[start + index]!;
    return offset + length;
  }
  target.set(new Uint8Array(lineBuffer, start, length), offset);
  return offset + length;
}

/** Room in every column for one more row of `lineBytes` bytes and `fieldCount` values. */
function reserveRow(scratch: BatchScratch, lineBytes: number, fieldCount: number): void {
  for (let column = 0; column < COLUMNS; column += 1) {
    if (scratch.written[column]! + lineBytes > scratch.data[column]!.length) scratch.data[column] = grown(scratch.data[column]!, scratch.written[column]! + lineBytes);
    if (scratch.counts[column]! + fieldCount + 1 > scratch.offsets[column]!.length) scratch.offsets[column] = grown(scratch.offsets[column]!, scratch.counts[column]! + fieldCount + 1);
  }
}

/** A copy of `array` with room for at least `needed` elements (doubling, so growth is rare). */
function grown<T extends Uint8Array | Int32Array>(array: T, needed: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(needed, 2 * array.length));
  bigger.set(array);
  return bigger;
}

// Stored fields: 0 id, 1 lang, 2 source, 3 meta, then role and content of each message.
const META_FIELD = 3;
const ROLE_COLUMN = 4;
const CONTENT_COLUMN = 5;
const COLUMNS = 6;
