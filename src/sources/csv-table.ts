import type { CanonicalRecord, Message } from "../record/canonical-record";
import { roleSchema } from "../record/canonical-record";
import { asObject, fail, optionalString, requireLanguage, type RowContext } from "./field-checks";

/** CSV of conversations: `id, lang, [source, meta,] role_1, content_1, role_2, content_2, ...`. */
export function isTurnTableRow(row: Record<string, unknown>): boolean {
  return "role_1" in row && "content_1" in row;
}

/** CSV of prompt/response pairs: `prompt, response` (optionally `id`, `lang`). */
export function isPromptResponseRow(row: Record<string, unknown>): boolean {
  return typeof row.prompt === "string" && typeof row.response === "string";
}

export function normaliseTurnTableRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const messages: Message[] = [];
  for (let turn = 1; `role_${turn}` in row; turn += 1) {
    const role = row[`role_${turn}`];
    const content = row[`content_${turn}`];
    if (role === "" || role === undefined || role === null) continue; // shorter conversations leave trailing cells empty
    const parsed = roleSchema.safeParse(role);
    if (!parsed.success) fail(context, `role_${turn}`, `expected system, user or assistant, found ${JSON.stringify(role)}`);
    if (typeof content !== "string") fail(context, `content_${turn}`, "missing content for this role");
    messages.push({ role: parsed.data, content });
  }
  if (messages.length === 0) fail(context, "role_1", "no messages in this row");
  let meta: Record<string, unknown> = {};
  const rawMeta = optionalString(row, "meta", context);
  if (rawMeta) {
    try {
      meta = JSON.parse(rawMeta) as Record<string, unknown>;
    } catch {
      fail(context, "meta", "expected a JSON object");
    }
  }
  return {
    id: optionalString(row, "id", context) || `row-${context.index}`,
    lang: requireLanguage(row, context),
    source: context.source ?? (optionalString(row, "source", context) || "csv"),
    messages,
    meta,
  };
}

export function normalisePromptResponseRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  return {
    id: optionalString(row, "id", context) || `row-${context.index}`,
    lang: requireLanguage(row, context),
    source: context.source ?? "prompt-response",
    messages: [
      { role: "user", content: row.prompt as string },
      { role: "assistant", content: row.response as string },
    ],
    meta: {},
  };
}
