import type { CanonicalRecord } from "../record/canonical-record";
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
