import type { CanonicalRecord } from "../record/canonical-record";
import { bactrianXUserMessage } from "./bactrian-x";
import { asObject, optionalString, requireLanguage, requireString, type RowContext } from "./field-checks";

/** Alpaca: `{"instruction", "input", "output"}` without ids; ids are `alpaca-<index>`. */
export function isAlpacaRow(row: Record<string, unknown>): boolean {
  return typeof row.instruction === "string" && typeof row.output === "string";
}

export function normaliseAlpacaRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const instruction = requireString(row, "instruction", context);
  const output = requireString(row, "output", context);
  return {
    id: optionalString(row, "id", context) ?? `alpaca-${context.index}`,
    lang: requireLanguage(row, context),
    source: context.source ?? "alpaca",
    messages: [
      { role: "user", content: bactrianXUserMessage(instruction, optionalString(row, "input", context)) },
      { role: "assistant", content: output },
    ],
    meta: {},
  };
}
