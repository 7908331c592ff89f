import { InputError, type InputLocation } from "../errors";

/** Everything a source loader knows about the row it normalises. */
export interface RowContext {
  location: InputLocation;
  /** 0-based index of the row in its file (LIMA ids are derived from it). */
  index: number;
  /** Language of the file, when the file holds one language (from an option or the file name). */
  lang?: string;
  /** Value for the record's `source` field, when the caller sets it. */
  source?: string;
  /** Keep empty messages instead of rejecting them (`--allow-empty`). */
  allowEmpty?: boolean;
}

/** Throws an InputError naming the file, line and field. */
export function fail(context: RowContext, field: string | undefined, message: string): never {
  throw new InputError(message, { ...context.location, field });
}

export function asObject(value: unknown, context: RowContext): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(context, undefined, `expected a JSON object, found ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function requireString(row: Record<string, unknown>, field: string, context: RowContext): string {
  const value = row[field];
  if (value === undefined || value === null) fail(context, field, "missing required field");
  if (typeof value !== "string") fail(context, field, `expected a string, found ${describe(value)}`);
  return value;
}

export function optionalString(row: Record<string, unknown>, field: string, context: RowContext): string | undefined {
  const value = row[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") fail(context, field, `expected a string, found ${describe(value)}`);
  return value;
}

/** The language of a row: the file's language, else the row's `lang` field. */
export function requireLanguage(row: Record<string, unknown>, context: RowContext): string {
  const lang = context.lang ?? optionalString(row, "lang", context);
  if (!lang) fail(context, "lang", "no language: name the file after its language (de.jsonl) or pass the language");
  return lang;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)})`;
  return `${typeof value} ${String(value)}`;
}
