import type { CanonicalRecord } from "../record/canonical-record";
import { fail, type RowContext } from "./field-checks";

/**
 * Rejects a record with an empty (or blank) message, naming the file, line and field: an empty
 * turn would be trained on, translated and judged as if it were content. Every reader applies it,
 * so `validate`, `inspect`, `compose`, `sample`, `translate` and `build` agree; `allowEmpty` in
 * the context (the commands' `--allow-empty`) keeps such records.
 */
export function checkMessages(record: CanonicalRecord, context: RowContext): CanonicalRecord {
  if (context.allowEmpty) return record;
  record.messages.forEach((message, index) => {
    if (message.content.trim() === "") {
      fail(context, `messages.${index}.content`, "empty message (--allow-empty, or allowEmpty: true, keeps such rows in compose, sample, translate and build)");
    }
  });
  return record;
}
