import { canonicalRecordSchema, type CanonicalRecord } from "../record/canonical-record";
import { asObject, fail, type RowContext } from "./field-checks";

/** The library's own records (JSONL, Arrow with `meta` as a JSON string). */
export function isCanonicalRow(row: Record<string, unknown>): boolean {
  return typeof row.id === "string" && typeof row.lang === "string" && Array.isArray(row.messages);
}

/** Validates a canonical record with its zod schema; the first problem names its field. */
export function normaliseCanonicalRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = { ...asObject(value, context) };
  if (typeof row.meta === "string") {
    try {
      row.meta = JSON.parse(row.meta);
    } catch {
      fail(context, "meta", "expected a JSON object (or a string holding one)");
    }
  }
  row.meta ??= {};
  if (row.source === undefined && context.source) row.source = context.source;
  const parsed = canonicalRecordSchema.safeParse(row);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(context, issue.path.join("."), issue.message);
  }
  if (context.lang && parsed.data.lang !== context.lang) {
    fail(context, "lang", `record says "${parsed.data.lang}" but the file is for "${context.lang}"`);
  }
  return parsed.data;
}
