import type { CanonicalRecord, Message } from "../record/canonical-record";
import { roleSchema } from "../record/canonical-record";
import { asObject, fail, optionalString, requireLanguage, type RowContext } from "./field-checks";

/** OpenAI / TRL chat: `{"messages": [{"role", "content"}]}`, with or without an id. */
export function isOpenAIMessagesRow(row: Record<string, unknown>): boolean {
  return Array.isArray(row.messages);
}

export function normaliseOpenAIMessagesRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const raw = row.messages as unknown[];
  if (raw.length === 0) fail(context, "messages", "empty conversation");
  const messages: Message[] = raw.map((entry, index) => {
    const message = asObject(entry, context);
    const role = roleSchema.safeParse(message.role);
    if (!role.success) fail(context, `messages.${index}.role`, `expected one of system, user, assistant, found ${JSON.stringify(message.role)}`);
    if (typeof message.content !== "string") fail(context, `messages.${index}.content`, "expected a string");
    return { role: role.data, content: message.content };
  });
  return {
    id: optionalString(row, "id", context) ?? `row-${context.index}`,
    lang: requireLanguage(row, context),
    source: context.source ?? optionalString(row, "source", context) ?? "messages",
    messages,
    meta: {},
  };
}
