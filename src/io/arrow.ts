import { createReadStream } from "node:fs";
import {
  AsyncByteQueue,
  Field,
  List,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Type,
  Utf8,
  Vector,
  type Data,
} from "apache-arrow";
import type { CanonicalRecord } from "../record/canonical-record";
import { openAtomicFile } from "./atomic-write";
import { BufferedOutput } from "./buffered-output";
import type { WrittenFile } from "./jsonl";
import { decodeUtf8Strict, firstInvalidUtf8Byte } from "./strict-utf8";

const messageType = new Struct([new Field("role", new Utf8(), false), new Field("content", new Utf8(), false)]);

/**
 * The explicit schema of every Arrow file we write: plain Utf8 columns (no dictionary encoding),
 * `messages` as List<Struct<role, content>> and `meta` as a JSON string.
 */
export const canonicalArrowSchema = new Schema([
  new Field("id", new Utf8(), false),
  new Field("lang", new Utf8(), false),
  new Field("source", new Utf8(), false),
  new Field("messages", new List(new Field("item", messageType, false)), false),
  new Field("meta", new Utf8(), false),
]);

/** Rows per record batch: large enough for fast scans, small enough to stream in bounded memory. */
export const ARROW_BATCH_ROWS = 8192;

/**
 * The Arrow IPC layout of a written `.arrow` file. `stream` (the default) is what Hugging Face
 * `datasets` memory-maps (`Dataset.from_file`, and the `.arrow` files of its own cache); `file`
 * (magic `ARROW1`, with a footer for random access) is what `pyarrow.ipc.open_file` and
 * `pyarrow.feather` read. `pyarrow.ipc.open_stream` and our own readers take both.
 */
export type ArrowFormat = "stream" | "file";

/** Options of the Arrow writers. */
export interface WriteArrowOptions {
  /** Rows per record batch (default `ARROW_BATCH_ROWS`). */
  batchRows?: number;
  /** IPC stream (default) or IPC file. */
  format?: ArrowFormat;
}

/**
 * Writes canonical records as Arrow IPC (the stream format unless `format: "file"`), in record
 * batches of `batchRows`, atomically. `datasets.Dataset.from_file(path)` memory-maps the stream
 * format; `pyarrow.ipc.open_file(pyarrow.memory_map(path))` reads the file format.
 */
export async function writeArrow(
  path: string,
  records: Iterable<CanonicalRecord> | AsyncIterable<CanonicalRecord>,
  options: WriteArrowOptions = {},
): Promise<WrittenFile> {
  const batchRows = options.batchRows ?? ARROW_BATCH_ROWS;
  async function* batches(): AsyncGenerator<RecordBatch> {
    let pending: CanonicalRecord[] = [];
    let any = false;
    for await (const record of records) {
      pending.push(record);
      if (pending.length >= batchRows) {
        yield buildRecordBatch(pending);
        any = true;
        pending = [];
      }
    }
    if (pending.length > 0 || !any) yield buildRecordBatch(pending);
  }
  return writeRecordBatches(path, batches(), options.format === undefined ? {} : { format: options.format });
}

/**
 * Writes record batches with the canonical schema as Arrow IPC (stream unless `format: "file"`), atomically. A batch's bytes
 * are copied out as soon as it is written, and the next batch is requested only once the one before
 * it is on disk, so about two batches of bytes are held in memory and batches may reuse buffers.
 */
export async function writeRecordBatches(
  path: string,
  batches: Iterable<RecordBatch> | AsyncIterable<RecordBatch>,
  options: { format?: ArrowFormat } = {},
): Promise<WrittenFile> {
  const file = await openAtomicFile(path);
  const sink = new CollectingSink();
  const writer = (options.format ?? "stream") === "file" ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
  writer.reset(sink, canonicalArrowSchema);
  const output = new BufferedOutput(file);
  // A batch is many small buffers: copied into the output, whose write then overlaps building the next batch.
  const flush = async () => {
    for (const chunk of sink.take()) output.append(chunk);
    await output.flush();
  };
  let rows = 0;
  try {
    for await (const batch of batches) {
      writer.write(batch);
      rows += batch.numRows;
      await flush();
    }
    writer.finish();
    for (const chunk of sink.take()) output.append(chunk);
    await output.finish();
    const { sha256, bytes } = await file.commit();
    return { rows, sha256, bytes };
  } catch (error) {
    writer.abort();
    await file.abort();
    throw error;
  }
}

/**
 * The Arrow writer's output, collected as written so that each batch's bytes go to the file
 * (waiting for the disk) before the next batch is built. The writer's own queue would let a fast
 * producer pile up a whole file's batches in memory.
 */
class CollectingSink extends AsyncByteQueue<Uint8Array> {
  private chunks: Uint8Array[] = [];

  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }

  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

/** Builds one record batch of canonical records, encoding each string column into a single buffer. */
export function buildRecordBatch(records: readonly CanonicalRecord[]): RecordBatch {
  const length = records.length;
  const listOffsets = new Int32Array(length + 1);
  const roles: string[] = [];
  const contents: string[] = [];
  for (let index = 0; index < length; index += 1) {
    const messages = records[index]!.messages;
    for (const message of messages) {
      roles.push(message.role);
      contents.push(message.content);
    }
    listOffsets[index + 1] = roles.length;
  }
  const messageData = makeData({
    type: messageType,
    length: roles.length,
    nullCount: 0,
    children: [buildUtf8(roles), buildUtf8(contents)],
  });
  const listType = canonicalArrowSchema.fields[3]!.type as List;
  const columns: Data[] = [
    buildUtf8(records.map((record) => record.id)),
    buildUtf8(records.map((record) => record.lang)),
    buildUtf8(records.map((record) => record.source)),
    makeData({ type: listType, length, nullCount: 0, valueOffsets: listOffsets, child: messageData }),
    buildUtf8(records.map((record) => JSON.stringify(record.meta))),
  ];
  const structData = makeData({
    type: new Struct(canonicalArrowSchema.fields),
    length,
    nullCount: 0,
    children: columns,
  });
  return new RecordBatch(canonicalArrowSchema, structData);
}

function buildUtf8(values: readonly string[]): Data<Utf8> {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let index = 0; index < values.length; index += 1) {
    total += Buffer.byteLength(values[index]!, "utf8");
    offsets[index + 1] = total;
  }
  const bytes = Buffer.allocUnsafe(total);
  for (let index = 0; index < values.length; index += 1) bytes.write(values[index]!, offsets[index]!, "utf8");
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** One row of an Arrow file as plain values, with its 0-based row index. */
export interface ArrowRow {
  value: Record<string, unknown>;
  item: number;
}

/**
 * Streams the rows of an Arrow IPC file or stream as plain objects (nested lists and structs become
 * arrays and objects). Any schema is accepted; the source loaders decide what the columns mean.
 */
export async function* readArrow(path: string): AsyncGenerator<ArrowRow> {
  const reader = await RecordBatchReader.from(createReadStream(path));
  let item = 0;
  for await (const batch of reader) {
    const names = batch.schema.fields.map((field) => field.name);
    const columns = names.map((name) => batch.getChild(name)!);
    // apache-arrow decodes strings leniently (U+FFFD): check their bytes first, as every reader does.
    for (const [column, name] of names.entries()) for (const data of columns[column]!.data) checkUtf8Data(path, data, name, item);
    for (let row = 0; row < batch.numRows; row += 1) {
      const value: Record<string, unknown> = {};
      for (let column = 0; column < names.length; column += 1) value[names[column]!] = toPlain(columns[column]!.get(row));
      yield { value, item };
      item += 1;
    }
  }
}

/**
 * Throws an InputError when a string column (or a string inside a list or struct column) holds
 * invalid UTF-8: the file, the field, the item for a top-level column, and the byte offset.
 */
function checkUtf8Data(path: string, data: Data, field: string, firstItem: number, nested = false): void {
  if (data.type.typeId === Type.Utf8 || data.type.typeId === Type.LargeUtf8) {
    const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
    const values = data.values as Uint8Array | undefined;
    if (!offsets || !values) return;
    const start = Number(offsets[data.offset]);
    const end = Number(offsets[data.offset + data.length]);
    if (firstInvalidUtf8Byte(values, start, end) === -1) return;
    for (let index = 0; index < data.length; index += 1) {
      const from = Number(offsets[data.offset + index]);
      const to = Number(offsets[data.offset + index + 1]);
      if (firstInvalidUtf8Byte(values, from, to) === -1) continue;
      decodeUtf8Strict(values, from, to, { file: path, field, ...(nested ? {} : { item: firstItem + index }) }, "value");
    }
    return;
  }
  data.children.forEach((child, index) => {
    const name = data.type.children?.[index]?.name;
    checkUtf8Data(path, child, name && data.type.typeId === Type.Struct ? `${field}.${name}` : field, firstItem, true);
  });
}

function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Vector) return Array.from(value.toArray() as ArrayLike<unknown>, toPlain);
  const candidate = value as { toJSON?: () => unknown };
  if (candidate.toJSON) {
    const json = candidate.toJSON() as Record<string, unknown>;
    return Object.fromEntries(Object.entries(json).map(([key, inner]) => [key, toPlain(inner)]));
  }
  return value;
}
