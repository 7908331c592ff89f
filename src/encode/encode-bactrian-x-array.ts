import { isUtf8 } from "node:buffer";
import { parseJsonArrayElement, scanJsonArrayChunks } from "../io/json-array";
import { assertReadable, firstNonSpaceCharacter } from "../io/probe-file";
import { fileKindOf } from "../io/read-rows";
import { isIso639_1 } from "../record/language-codes";
import { bactrianXRawRecord, normaliseBactrianXBytes, readBactrianXElement } from "../sources/bactrian-x";
import { detectSourceFormat, normaliseRow } from "../sources/read-source";
import type { EncodeLanguageFileTask } from "./language-file-task";
import type { RecordEncoder } from "./record-encoder";

/**
 * The fast path for Bactrian-X's own files (one JSON array per language): each row is read from
 * its bytes and its texts copied into the encoder without ever becoming JavaScript strings. A row
 * the byte-level reader does not take (see `normaliseBactrianXBytes`) is parsed and normalised as
 * any other, with the same errors. Returns false, having read nothing, when the file is not a
 * Bactrian-X JSON array with a known language; the caller then reads it the general way.
 */
export async function encodeBactrianXArray(task: EncodeLanguageFileTask, encoder: RecordEncoder): Promise<boolean> {
  const { path, lang, source } = task;
  if (task.format !== undefined && task.format !== "bactrian-x") return false;
  if (fileKindOf(path) !== "json" || !isIso639_1(lang)) return false;
  await assertReadable(path);
  if ((await firstNonSpaceCharacter(path)) !== "[") return false;
  const context = { lang, ...(source !== undefined ? { source } : {}), ...(task.allowEmpty ? { allowEmpty: true } : {}) };
  let index = 0;
  for await (const elements of scanJsonArrayChunks(path, readBactrianXElement)) {
    for (const element of elements) {
      const { bytes, start, end, item, read } = element;
      const valid = isUtf8(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
      const raw = !valid ? undefined : read !== undefined ? bactrianXRawRecord(bytes, read, context) : normaliseBactrianXBytes(bytes, start, end, context);
      if (raw) {
        encoder.addRaw(raw);
      } else {
        const value = parseJsonArrayElement(path, element);
        const location = { file: path, item };
        if (index === 0 && task.format === undefined && detectSourceFormat(value, location) !== "bactrian-x") return false;
        encoder.add(normaliseRow(value, "bactrian-x", { location, index, ...context }));
      }
      index += 1;
    }
  }
  return true;
}
