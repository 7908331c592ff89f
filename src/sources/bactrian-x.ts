import type { JsonArrayElementReader } from "../io/json-array";
import { readFlatJsonObject, scanFlatJsonObject, type FlatJsonValue, type JsonStringSpan } from "../io/scan-flat-json-object";
import type { CanonicalRecord } from "../record/canonical-record";
import type { RawRecord, RawText } from "../record/raw-record";
import { asObject, optionalString, requireLanguage, requireString, type RowContext } from "./field-checks";

/** Bactrian-X (MBZUAI/Bactrian-X): `{"instruction", "input", "id", "output"}`. */
export function isBactrianXRow(row: Record<string, unknown>): boolean {
  return typeof row.instruction === "string" && typeof row.output === "string" && typeof row.id === "string";
}

/** The user message: instruction, plus a blank line and the input when the input is not empty. */
export function bactrianXUserMessage(instruction: string, input: string | undefined): string {
  return input ? `${instruction}\n\n${input}` : instruction;
}

/** `instruction` + `input` -> user, `output` -> assistant, `id` kept, origin (`alpaca`, `dolly`) in meta. */
export function normaliseBactrianXRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const id = requireString(row, "id", context);
  const instruction = requireString(row, "instruction", context);
  const output = requireString(row, "output", context);
  const input = optionalString(row, "input", context);
  const dash = id.indexOf("-");
  return {
    id,
    lang: requireLanguage(row, context),
    source: context.source ?? "bactrian-x",
    messages: [
      { role: "user", content: bactrianXUserMessage(instruction, input) },
      { role: "assistant", content: output },
    ],
    meta: { origin: dash > 0 ? id.slice(0, dash) : "unknown" },
  };
}

const ROW_KEYS = ["id", "instruction", "input", "output"];

/**
 * `normaliseBactrianXRow` for a row given as the UTF-8 bytes of its JSON object, without decoding
 * the texts: the same record, as a `RawRecord`. Returns undefined when the row is not plainly
 * shaped (a missing field, a non-string value, an escaped id, unusual escapes, ...): the caller
 * then parses it and normalises it with `normaliseBactrianXRow`, which also reports what is wrong.
 */
export function normaliseBactrianXBytes(bytes: Buffer, start: number, end: number, context: { lang: string; source?: string }): RawRecord | undefined {
  const values = scanFlatJsonObject(bytes, start, end, ROW_KEYS);
  return values === undefined ? undefined : bactrianXRawRecord(bytes, values, context);
}

/**
 * Reads a Bactrian-X row from its first byte as a JSON array element (see `scanJsonArrayChunks`):
 * the row's values, for `bactrianXRawRecord`. Bytes must be checked for valid UTF-8 afterwards.
 */
export const readBactrianXElement: JsonArrayElementReader<FlatJsonValue[]> = (bytes, start, limit) => {
  const read = readFlatJsonObject(bytes, start, limit, ROW_KEYS);
  return read === undefined ? undefined : { value: read.values, end: read.end, newlines: read.newlines };
};

/** `normaliseBactrianXBytes` of a row's values as `scanFlatJsonObject` found them in `bytes`. */
export function bactrianXRawRecord(bytes: Buffer, values: readonly FlatJsonValue[], context: { lang: string; source?: string }): RawRecord | undefined {
  const [id, instruction, input, output] = values;
  if (!id || id.escaped || !instruction || !output) return undefined;
  // A message that may be blank is left to `normaliseBactrianXRow`, which rejects it by name.
  if (mayBeBlank(bytes, instruction) || mayBeBlank(bytes, output)) return undefined;
  const idText = bytes.toString("utf8", id.start, id.end);
  const dash = idText.indexOf("-");
  return {
    bytes,
    id: idText,
    lang: context.lang,
    source: context.source ?? "bactrian-x",
    messages: [
      { role: "user", content: input && input.end > input.start ? joinBlankLine(instruction, input) : single(instruction) },
      { role: "assistant", content: single(output) },
    ],
    meta: { origin: dash > 0 ? idText.slice(0, dash) : "unknown" },
  };
}

/**
 * False once a byte shows that the string has content (a printable ASCII character, escaped or
 * not); true for an empty string and one of spaces, whitespace escapes or non-ASCII only (which
 * might be Unicode spaces). Real texts start with a letter, so this reads one byte.
 */
function mayBeBlank(bytes: Buffer, span: JsonStringSpan): boolean {
  for (let position = span.start; position < span.end; position++) {
    const byte = bytes[position]!;
    if (byte === BACKSLASH) {
      position += 1;
      const escaped = bytes[position]!;
      if (escaped === QUOTE || escaped === BACKSLASH || escaped === SLASH) return false;
    } else if (byte > 0x20 && byte < 0x7f) return false;
  }
  return true;
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const SLASH = 0x2f;

function single(span: JsonStringSpan): RawText {
  return { spans: [span.start, span.end], separator: "", escaped: span.escaped, characters: span.characters };
}

/** `bactrianXUserMessage`: instruction, a blank line, input. */
function joinBlankLine(instruction: JsonStringSpan, input: JsonStringSpan): RawText {
  return { spans: [instruction.start, instruction.end, input.start, input.end], separator: "\\n\\n", escaped: true, characters: instruction.characters + 2 + input.characters };
}
