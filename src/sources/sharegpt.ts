import type { CanonicalRecord, Message, Role } from "../record/canonical-record";
import { asObject, fail, optionalString, requireLanguage, type RowContext } from "./field-checks";

/** ShareGPT: `{"conversations": [{"from": "human"|"gpt"|"system", "value"}]}`. */
export function isShareGptRow(row: Record<string, unknown>): boolean {
  return (
    Array.isArray(row.conversations) &&
    row.conversations.length > 0 &&
    row.conversations.every((turn) => turn !== null && typeof turn === "object" && "from" in turn && "value" in turn)
  );
}

const ROLES: Record<string, Role> = { human: "user", user: "user", gpt: "assistant", assistant: "assistant", system: "system" };

export function normaliseShareGptRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const messages: Message[] = (row.conversations as unknown[]).map((entry, index) => {
    const turn = asObject(entry, context);
    const role = ROLES[String(turn.from)];
    if (!role) fail(context, `conversations.${index}.from`, `expected human, gpt or system, found ${JSON.stringify(turn.from)}`);
    if (typeof turn.value !== "string") fail(context, `conversations.${index}.value`, "expected a string");
    return { role, content: turn.value };
  });
  return {
    id: optionalString(row, "id", context) ?? `sharegpt-${context.index}`,
    lang: requireLanguage(row, context),
    source: context.source ?? "sharegpt",
    messages,
    meta: {},
  };
}
