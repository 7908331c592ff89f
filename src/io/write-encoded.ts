import { makeData, RecordBatch, Struct, Utf8, type Data, type List } from "apache-arrow";
import { messageCount, type EncodedRecord } from "../corpus/record-store";
import { ARROW_BATCH_ROWS, canonicalArrowSchema, writeRecordBatches } from "./arrow";
import { openAtomicFile } from "./atomic-write";
import type { WrittenFile } from "./jsonl";

const OUTPUT_BUFFER_BYTES = 4 << 20;

/**
 * Writes encoded records as JSONL by copying their stored lines into large output buffers: no
 * serialisation, no string encoding. Gzip when the path ends in `.gz`; atomic.
 */
export async function writeEncodedJsonl(path: string, rows: readonly EncodedRecord[]): Promise<WrittenFile> {
  const file = await openAtomicFile(path, { gzip: path.toLowerCase().endsWith(".gz") });
  try {
    let buffer = Buffer.allocUnsafe(OUTPUT_BUFFER_BYTES);
    let used = 0;
    for (const row of rows) {
      if (used + row.lineBytes > buffer.length) {
        if (used > 0) await file.write(buffer.subarray(0, used));
        // The written buffer may still be queued in the stream: never reuse it.
        buffer = Buffer.allocUnsafe(Math.max(OUTPUT_BUFFER_BYTES, row.lineBytes));
        used = 0;
      }
      buffer.set(row.chunk.subarray(row.start, row.start + row.lineBytes), used);
      used += row.lineBytes;
    }
    if (used > 0) await file.write(buffer.subarray(0, used));
    const { sha256, bytes } = await file.commit();
    return { rows: rows.length, sha256, bytes };
  } catch (error) {
    await file.abort();
    throw error;
  }
}

/** Writes encoded records as an Arrow IPC file with the canonical schema, copying stored field bytes. */
export async function writeEncodedArrow(path: string, rows: readonly EncodedRecord[], options: { batchRows?: number } = {}): Promise<WrittenFile> {
  const batchRows = options.batchRows ?? ARROW_BATCH_ROWS;
  function* batches(): Generator<RecordBatch> {
    for (let start = 0; start < rows.length || start === 0; start += batchRows) {
      yield buildEncodedRecordBatch(rows.slice(start, start + batchRows));
      if (rows.length === 0) return;
    }
  }
  return writeRecordBatches(path, batches());
}

/** One record batch from encoded records: each column's bytes are copied, never re-encoded. */
export function buildEncodedRecordBatch(rows: readonly EncodedRecord[]): RecordBatch {
  const length = rows.length;
  const listOffsets = new Int32Array(length + 1);
  let messages = 0;
  for (let index = 0; index < length; index += 1) {
    messages += messageCount(rows[index]!);
    listOffsets[index + 1] = messages;
  }
  const messageType = (canonicalArrowSchema.fields[3]!.type as List).children[0]!.type as Struct;
  const messageData = makeData({
    type: messageType,
    length: messages,
    nullCount: 0,
    children: [utf8Column(rows, messages, FIRST_MESSAGE_FIELD, 2), utf8Column(rows, messages, FIRST_MESSAGE_FIELD + 1, 2)],
  });
  const listType = canonicalArrowSchema.fields[3]!.type as List;
  const structData = makeData({
    type: new Struct(canonicalArrowSchema.fields),
    length,
    nullCount: 0,
    children: [
      utf8Column(rows, length, 0),
      utf8Column(rows, length, 1),
      utf8Column(rows, length, 2),
      makeData({ type: listType, length, nullCount: 0, valueOffsets: listOffsets, child: messageData }),
      utf8Column(rows, length, 3),
    ],
  });
  return new RecordBatch(canonicalArrowSchema, structData);
}

const FIRST_MESSAGE_FIELD = 4;

/**
 * A Utf8 column of field `first` of every row (`step` 0), or of fields first, first + step, ...
 * up to each row's field count (message roles or contents).
 */
function utf8Column(rows: readonly EncodedRecord[], count: number, first: number, step = 0): Data<Utf8> {
  const offsets = new Int32Array(count + 1);
  let total = 0;
  let position = 0;
  for (const row of rows) {
    const ends = row.fieldEnds;
    const last = step === 0 ? first : row.fieldCount - 1;
    for (let field = first; field <= last; field += step || 1) {
      const index = row.fieldStart + field;
      total += ends[index]! - (field === 0 ? 0 : ends[index - 1]!);
      offsets[++position] = total;
    }
  }
  const data = new Uint8Array(total);
  let written = 0;
  for (const row of rows) {
    const ends = row.fieldEnds;
    const base = row.start + row.lineBytes;
    const last = step === 0 ? first : row.fieldCount - 1;
    for (let field = first; field <= last; field += step || 1) {
      const index = row.fieldStart + field;
      written = copyBytes(row.chunk, base + (field === 0 ? 0 : ends[index - 1]!), base + ends[index]!, data, written);
    }
  }
  return makeData({ type: new Utf8(), length: count, nullCount: 0, valueOffsets: offsets, data });
}

// Below about two dozen bytes (ids, languages, roles) a loop beats creating a view for set();
// above it set() wins by far (measured: 7x at 300 bytes).
const LOOP_COPY_LIMIT = 24;

function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, offset: number): number {
  const length = end - start;
  if (length < LOOP_COPY_LIMIT) {
    for (let index = 0; index < length; index += 1) target[offset + index] = source[start + index]!;
  } else {
    target.set(source.subarray(start, end), offset);
  }
  return offset + length;
}
