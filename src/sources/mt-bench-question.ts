import type { CanonicalRecord } from "../record/canonical-record";
import { asObject, fail, optionalString, type RowContext } from "./field-checks";

/** MT-Bench / MT-Bench-X questions: `{"question_id", "category", "turns": [...], "reference"?}`. */
export function isMtBenchQuestionRow(row: Record<string, unknown>): boolean {
  return "question_id" in row && Array.isArray(row.turns);
}

/**
 * Each question becomes a record whose messages are its user turns (the answers are what a model
 * produces). MT-Bench-X ids such as `81_DE` carry their language; plain MT-Bench is English.
 */
export function normaliseMtBenchQuestionRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const questionId = row.question_id;
  if (typeof questionId !== "string" && typeof questionId !== "number") fail(context, "question_id", "expected a string or number");
  const turns = row.turns as unknown[];
  if (turns.length === 0) fail(context, "turns", "no turns");
  turns.forEach((turn, index) => {
    if (typeof turn !== "string") fail(context, `turns.${index}`, "expected a string");
  });
  const match = /^(\d+)_([A-Za-z]{2})$/.exec(String(questionId));
  const lang = context.lang ?? match?.[2]?.toLowerCase() ?? "en";
  const meta: Record<string, unknown> = { question_id: questionId };
  const category = optionalString(row, "category", context);
  if (category) meta.category = category;
  if (Array.isArray(row.reference)) meta.reference = row.reference;
  return {
    id: `mt-bench-${match?.[1] ?? String(questionId)}`,
    lang,
    source: context.source ?? "mt-bench",
    messages: (turns as string[]).map((content) => ({ role: "user" as const, content })),
    meta,
  };
}
