import { parse, format } from "fast-csv";
import { InputError } from "../errors";
import type { CanonicalRecord } from "../record/canonical-record";
import { openAtomicFile } from "./atomic-write";
import type { WrittenFile } from "./jsonl";
import { isGzipPath, openTextStream } from "./open-text-stream";

/** One CSV row keyed by header, and the 1-based line of the file it starts on. */
export interface CsvRow {
  value: Record<string, string>;
  line: number;
}

/** Streams the rows of a CSV file with a header row (gzip by `.gz`), parsed by fast-csv. */
export async function* readCsv(path: string): AsyncGenerator<CsvRow> {
  const text = openTextStream(path);
  const parser = text.pipe(parse({ headers: true, strictColumnHandling: true, trim: false }));
  // pipe() does not pass errors on: a gzip or UTF-8 error of the text ends the parser with it.
  text.on("error", (error) => parser.destroy(error));
  const rejected: { line: number; message: string }[] = [];
  let row = 0;
  parser.on("data-invalid", (_row: unknown, rowNumber: number) => {
    rejected.push({ line: rowNumber + 1, message: "has a different number of columns than the header" });
  });
  try {
    for await (const value of parser) {
      row += 1;
      if (rejected.length > 0) break;
      // Line numbers count the header as line 1; rows with embedded newlines make this approximate,
      // so the message says "row" as well.
      yield { value: value as Record<string, string>, line: row + 1 };
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`CSV parse error: ${(error as Error).message}`, { file: path, cause: error });
  }
  const first = rejected[0];
  if (first) throw new InputError(`row ${first.line - 1} ${first.message}`, { file: path, line: first.line });
}

/**
 * Writes canonical records as CSV with columns `id, lang, source, meta, role_1, content_1, ...`
 * (as many role/content pairs as the longest conversation), atomically.
 */
export async function writeCsv(path: string, records: readonly CanonicalRecord[]): Promise<WrittenFile> {
  const turns = records.reduce((most, record) => Math.max(most, record.messages.length), 0);
  const headers = ["id", "lang", "source", "meta"];
  for (let turn = 1; turn <= turns; turn += 1) headers.push(`role_${turn}`, `content_${turn}`);
  const file = await openAtomicFile(path, { gzip: isGzipPath(path) });
  try {
    const stream = format({ headers, quoteColumns: false });
    const written = (async () => {
      for await (const chunk of stream) await file.write(chunk as Buffer);
    })();
    for (const record of records) {
      const row: string[] = [record.id, record.lang, record.source, JSON.stringify(record.meta)];
      for (let turn = 0; turn < turns; turn += 1) {
        const message = record.messages[turn];
        row.push(message?.role ?? "", message?.content ?? "");
      }
      if (!stream.write(row)) await new Promise((resolve) => stream.once("drain", resolve));
    }
    stream.end();
    await written;
    const { sha256, bytes } = await file.commit();
    return { rows: records.length, sha256, bytes };
  } catch (error) {
    await file.abort();
    throw error;
  }
}
