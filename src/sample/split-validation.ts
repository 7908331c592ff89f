import { z } from "zod";
import { compareIds } from "../record/compare-ids";
import { shuffleIds } from "./seeded-random";

export const splitValidationOptionsSchema = z.strictObject({
  ids: z.array(z.string()),
  /** Share of ids held out, e.g. 0.03. The count is rounded, and at least 1 when the share is above 0. */
  fraction: z.number().min(0).lt(1),
  seed: z.union([z.number().int(), z.string()]),
});
export type SplitValidationOptions = z.input<typeof splitValidationOptionsSchema>;

/**
 * Splits ids into train and validation by id, before composing: a validation id is held out in
 * every language, so no translation of a validation item leaks into training. Uses the
 * `"<seed>:validation"` stream; both lists come back sorted.
 */
export function splitValidation(options: SplitValidationOptions): { train: string[]; validation: string[] } {
  const { ids, fraction, seed } = splitValidationOptionsSchema.parse(options);
  const order = shuffleIds(ids, seed, "validation");
  const count = fraction === 0 ? 0 : Math.max(1, Math.round(order.length * fraction));
  return { validation: order.slice(0, count).sort(compareIds), train: order.slice(count).sort(compareIds) };
}
