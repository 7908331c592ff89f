import type { CanonicalRecord, Message } from "../record/canonical-record";
import { asObject, fail, optionalString, type RowContext } from "./field-checks";

/** LIMA (GAIR/lima): `{"conversations": [user, assistant, ...], "source": "..."}`. */
export function isLimaRow(row: Record<string, unknown>): boolean {
  return Array.isArray(row.conversations) && row.conversations.every((turn) => typeof turn === "string");
}

/** The stable LIMA id of the row at a 0-based line index: `lima-0042`. */
export function limaId(index: number): string {
  return `lima-${String(index).padStart(4, "0")}`;
}

/** Turns alternate user/assistant starting with the user; multi-turn rows are kept whole. */
export function normaliseLimaRow(value: unknown, context: RowContext): CanonicalRecord {
  const row = asObject(value, context);
  const conversations = row.conversations;
  if (!Array.isArray(conversations)) fail(context, "conversations", "missing required field (an array of strings)");
  if (conversations.length === 0) fail(context, "conversations", "empty conversation");
  if (conversations.length % 2 === 1) {
    fail(
      context,
      "conversations",
      `${conversations.length} turns: the last user turn has no answer (a LIMA conversation alternates user and assistant and ends with an answer; LIMA's test split holds prompts only and is not training data)`,
    );
  }
  const messages: Message[] = conversations.map((turn, index) => {
    if (typeof turn !== "string") fail(context, `conversations.${index}`, "expected a string");
    return { role: index % 2 === 0 ? "user" : "assistant", content: turn };
  });
  const limaSource = optionalString(row, "source", context);
  return {
    id: limaId(context.index),
    lang: context.lang ?? "en",
    source: context.source ?? "lima",
    messages,
    meta: limaSource === undefined ? {} : { source: limaSource },
  };
}
