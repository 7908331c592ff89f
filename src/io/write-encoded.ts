import { makeData, RecordBatch, Struct, Utf8, type List } from "apache-arrow";
import type { EncodedRows } from "../record/encoded-rows";
import { ESCAPED_FLAG, RECORD_STRIDE, RecordSlot, type EncodedLanguageData } from "../record/encoded-record";
import { ARROW_BATCH_ROWS, canonicalArrowSchema, writeRecordBatches } from "./arrow";
import { unescapeJsonString } from "./unescape-json-string";
import { openAtomicFile } from "./atomic-write";
import { BufferedOutput } from "./buffered-output";
import { copyUnshared } from "./copy-bytes";
import { JsonByte } from "./json-bytes";
import type { WrittenFile } from "./jsonl";
import { isGzipPath } from "./open-text-stream";

/**
 * Writes encoded rows as JSONL by copying their stored lines into large output buffers: no
 * serialisation, no string encoding. Gzip when the path ends in `.gz`; atomic.
 */
export async function writeEncodedJsonl(path: string, table: EncodedRows, options: Pick<WriteEncodedOptions, "bufferBytes"> = {}): Promise<WrittenFile> {
  const { rows } = table;
  const { languages } = table;
  const file = await openAtomicFile(path, { gzip: isGzipPath(path) });
  try {
    const output = new BufferedOutput(file, options.bufferBytes);
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

/** Files to write from the same encoded rows: JSONL, Arrow, or both. */
export interface EncodedFiles {
  jsonl?: string;
  arrow?: string;
}

export interface WriteEncodedOptions {
  /** Rows per Arrow record batch (default `ARROW_BATCH_ROWS`). */
  batchRows?: number;
  /** Bytes of each of the JSONL output's two buffers (default 4 MB). */
  bufferBytes?: number;
}

/**
 * Writes encoded rows as JSONL and/or Arrow, both from one pass over the rows when both are
 * asked for: each row is read from shared memory once, while in cache its line goes to the JSONL
 * output and its values to the Arrow columns (rows sit at random places of the corpus, so reading
 * them is most of the cost of copying them). Atomic, gzip when the JSONL path ends in `.gz`.
 */
export async function writeEncoded(table: EncodedRows, files: EncodedFiles, options: WriteEncodedOptions = {}): Promise<{ jsonl?: WrittenFile; arrow?: WrittenFile }> {
  if (files.arrow === undefined) return files.jsonl === undefined ? {} : { jsonl: await writeEncodedJsonl(files.jsonl, table, options) };
  if (files.jsonl === undefined) return { arrow: await writeArrowAndLines(files.arrow, table, undefined, options) };
  const linesFile = await openAtomicFile(files.jsonl, { gzip: isGzipPath(files.jsonl) });
  try {
    const lines = new BufferedOutput(linesFile, options.bufferBytes);
    const arrow = await writeArrowAndLines(files.arrow, table, lines, options);
    await lines.finish();
    const { sha256, bytes } = await linesFile.commit();
    return { jsonl: { rows: arrow.rows, sha256, bytes }, arrow };
  } catch (error) {
    await linesFile.abort();
    throw error;
  }
}

/** Writes encoded rows as an Arrow IPC file with the canonical schema, copying stored field bytes. */
export async function writeEncodedArrow(path: string, table: EncodedRows, options: WriteEncodedOptions = {}): Promise<WrittenFile> {
  return writeArrowAndLines(path, table, undefined, options);
}

/** The Arrow file, and each row's JSONL line appended to `lines` on the way when given. */
async function writeArrowAndLines(path: string, table: EncodedRows, lines: BufferedOutput | undefined, options: WriteEncodedOptions): Promise<WrittenFile> {
  const batchRows = options.batchRows ?? ARROW_BATCH_ROWS;
  const { languages } = table;
  const count = table.rows.length / 2;
  // writeRecordBatches copies each batch out before asking for the next: one set of buffers serves
  // all, and the next file after this one.
  const scratch = spareScratch.pop() ?? newBatchScratch();
  const chunkBuffers = languages.map((language) => language.chunks.map((chunk) => chunk.buffer));
  async function* batches(): AsyncGenerator<RecordBatch> {
    for (let start = 0; start < count || start === 0; start += batchRows) {
      const rows = table.rows.subarray(2 * start, 2 * Math.min(count, start + batchRows));
      startBatch(scratch, rows.length / 2);
      // The JSONL buffer fills up within a batch: write it out and go on where the rows stopped.
      for (let row = fillColumns(languages, chunkBuffers, rows, 0, scratch, lines); row < rows.length; row = fillColumns(languages, chunkBuffers, rows, row, scratch, lines)) {
        await lines!.flush();
      }
      yield recordBatchOf(scratch, rows.length / 2);
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

/** Empties the columns for a batch of `length` rows. */
function startBatch(scratch: BatchScratch, length: number): void {
  if (scratch.listOffsets.length < length + 1) scratch.listOffsets = new Int32Array(2 * (length + 1));
  scratch.written.fill(0);
  scratch.counts.fill(0);
  scratch.listOffsets[0] = 0;
}

/** The record batch of the rows `fillColumns` copied into `scratch`; the batch's buffers are views of it. */
function recordBatchOf(scratch: BatchScratch, length: number): RecordBatch {
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
 * Copies rows ((language, index) pairs) from `from` on into the batch's columns, and appends each
 * row's line to `lines` when given; returns where it stopped: at the end, or at the first row
 * whose line does not fit into `lines` (write it out, then go on from there). Values are copied
 * from each record's stored JSON line without their quotes; those JSON escaped (a newline, a
 * quote) are unescaped on the way. All six columns are filled in one pass over the rows.
 *
 * The hot loop on its own: with the Arrow calls after it in the same function, V8 optimised the
 * loop on the fly and then threw the code away at those calls, every batch (measured: building
 * batches 4x slower).
 *
 * Each row's line is first copied out of shared memory whole, into `line` at the same address
 * modulo 8, so that V8 copies it a word at a time (see `copyBytes`); its values are then copied
 * from there with plain copies. Per value from shared memory, the copy cost a third more.
 */
function fillColumns(
  languages: readonly EncodedLanguageData[],
  chunkBuffers: readonly ArrayBufferLike[][],
  rows: Uint32Array,
  from: number,
  scratch: BatchScratch,
  lines: BufferedOutput | undefined,
): number {
  const { written, counts, listOffsets } = scratch;
  for (let row = from; row < rows.length; row += 2) {
    const slot = rows[row]!;
    const language = languages[slot]!;
    const numbers = rows[row + 1]! * RECORD_STRIDE;
    const records = language.records;
    const chunkIndex = records[numbers + RecordSlot.chunk]!;
    const lineBytes = records[numbers + RecordSlot.lineBytes]!;
    const fieldStart = records[numbers + RecordSlot.fieldStart]!;
    const fieldCount = records[numbers + RecordSlot.fieldCount]!;
    if (lines !== undefined && lineBytes > lines.room && !lines.empty) return row;
    // A value never has more bytes than its line: one check per row makes room for all of them.
    reserveRow(scratch, lineBytes, fieldCount);
    const lineStart = stageLine(language.chunks[chunkIndex]!, chunkBuffers[slot]![chunkIndex]!, records[numbers + RecordSlot.start]!, lineBytes);
    lines?.appendUnshared(line, lineBuffer, 0, lineStart, lineStart + lineBytes);
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
      if (field === META_FIELD) offset = copyUnshared(line, lineBuffer, 0, start, end, target, written[column]!);
      else if ((endWithFlag & ESCAPED_FLAG) === 0) offset = copyUnshared(line, lineBuffer, 0, start + 1, end - 1, target, written[column]!);
      else offset = unescapeJsonString(line, start + 1, end - 1, target, written[column]!);
      written[column] = offset;
      offsets[column]![++counts[column]!] = offset;
    }
    listOffsets[row / 2 + 1] = listOffsets[row / 2]! + (fieldCount - ROLE_COLUMN) / 2;
  }
  return rows.length;
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
