import { makeData, RecordBatch, Struct, Utf8, type List } from "apache-arrow";
import { ESCAPED_FLAG, messageCount, type EncodedRecord } from "../corpus/record-store";
import { ARROW_BATCH_ROWS, canonicalArrowSchema, writeRecordBatches } from "./arrow";
import { unescapeJsonString } from "./unescape-json-string";
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

/**
 * One record batch from encoded records. Values are copied from each record's stored JSON line
 * without their quotes; those JSON escaped (a newline, a quote) are unescaped on the way. All six
 * string columns are filled in one pass over the rows: rows sit at random places of the corpus
 * (compositions are shuffled), so touching each row once instead of once per column saves most of
 * the memory traffic.
 */
export function buildEncodedRecordBatch(rows: readonly EncodedRecord[]): RecordBatch {
  const length = rows.length;
  let messages = 0;
  const bounds = new Float64Array(COLUMNS);
  for (const row of rows) {
    const ranges = row.fieldEnds;
    for (let field = 0; field < row.fieldCount; field += 1) {
      const at = row.fieldStart + 2 * field;
      bounds[columnOf(field)]! += (ranges[at + 1]! & ~ESCAPED_FLAG) - ranges[at]!;
    }
    messages += messageCount(row);
  }
  const columns = Array.from(bounds, (bound, column) => ({
    data: new Uint8Array(bound),
    offsets: new Int32Array((column >= ROLE_COLUMN ? messages : length) + 1),
    written: 0,
    count: 0,
  }));
  const listOffsets = new Int32Array(length + 1);
  for (let index = 0; index < length; index += 1) {
    const row = rows[index]!;
    const ranges = row.fieldEnds;
    const chunk = row.chunk;
    for (let field = 0; field < row.fieldCount; field += 1) {
      const at = row.fieldStart + 2 * field;
      const start = row.start + ranges[at]!;
      const endWithFlag = ranges[at + 1]!;
      const end = row.start + (endWithFlag & ~ESCAPED_FLAG);
      const column = columns[columnOf(field)]!;
      if (field === META_FIELD) column.written = copyBytes(chunk, start, end, column.data, column.written);
      else if ((endWithFlag & ESCAPED_FLAG) === 0) column.written = copyBytes(chunk, start + 1, end - 1, column.data, column.written);
      else column.written = unescapeJsonString(chunk, start + 1, end - 1, column.data, column.written);
      column.offsets[++column.count] = column.written;
    }
    listOffsets[index + 1] = listOffsets[index]! + messageCount(row);
  }
  const utf8 = (column: number) => {
    const { data, offsets, written, count } = columns[column]!;
    return makeData({ type: new Utf8(), length: count, nullCount: 0, valueOffsets: offsets, data: data.subarray(0, written) });
  };
  const messageType = (canonicalArrowSchema.fields[3]!.type as List).children[0]!.type as Struct;
  const messageData = makeData({ type: messageType, length: messages, nullCount: 0, children: [utf8(ROLE_COLUMN), utf8(CONTENT_COLUMN)] });
  const listType = canonicalArrowSchema.fields[3]!.type as List;
  const structData = makeData({
    type: new Struct(canonicalArrowSchema.fields),
    length,
    nullCount: 0,
    children: [utf8(0), utf8(1), utf8(2), makeData({ type: listType, length, nullCount: 0, valueOffsets: listOffsets, child: messageData }), utf8(META_FIELD)],
  });
  return new RecordBatch(canonicalArrowSchema, structData);
}

// Stored fields: 0 id, 1 lang, 2 source, 3 meta, then role and content of each message.
const META_FIELD = 3;
const ROLE_COLUMN = 4;
const CONTENT_COLUMN = 5;
const COLUMNS = 6;

function columnOf(field: number): number {
  return field < ROLE_COLUMN ? field : field % 2 === 0 ? ROLE_COLUMN : CONTENT_COLUMN;
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
