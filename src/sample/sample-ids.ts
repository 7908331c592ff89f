import { z } from "zod";
import { UsageError } from "../errors";
import { compareIds } from "../record/compare-ids";
import { shuffleIds } from "./seeded-random";

export const sampleIdsOptionsSchema = z
  .strictObject({
    /** The ids to sample from (order does not matter; duplicates are ignored). */
    ids: z.array(z.string()),
    /** Number of ids to take. Give `n` or `characterBudget`. */
    n: z.number().int().nonnegative().optional(),
    /** Take ids until their total characters reach this budget (the last id may cross it). */
    characterBudget: z.number().int().positive().optional(),
    /** Characters of each id, needed with `characterBudget` (e.g. summed over the languages). */
    characters: z.map(z.string(), z.number()).optional(),
    /** Stratify by this label per id (e.g. origin alpaca/dolly): each stratum keeps its share. */
    strata: z.map(z.string(), z.string()).optional(),
    seed: z.union([z.number().int(), z.string()]),
  })
  .refine((options) => (options.n === undefined) !== (options.characterBudget === undefined), {
    message: "give exactly one of n and characterBudget",
  })
  .refine((options) => options.characterBudget === undefined || options.characters !== undefined, {
    message: "characterBudget needs the characters of each id",
  });
export type SampleIdsOptions = z.input<typeof sampleIdsOptionsSchema>;

/**
 * Samples ids reproducibly. Algorithm: sort the ids, Fisher-Yates shuffle them with seedrandom
 * seeded by `"<seed>:sample"`, then take a prefix: the first `n` ids, or ids until the character
 * budget is reached. With `strata`, each stratum is shuffled on its own (`"<seed>:sample:<label>"`)
 * and gets a share proportional to its size (largest remainders, ties broken by label), so the
 * sample keeps the population's mix. The result is sorted, so it is a set, not an order.
 */
export function sampleIds(options: SampleIdsOptions): string[] {
  const { ids, n, characterBudget, characters, strata, seed } = sampleIdsOptionsSchema.parse(options);
  const unique = Array.from(new Set(ids));
  if (n !== undefined && n > unique.length) {
    throw new UsageError(`cannot sample ${n} ids from ${unique.length}: the corpus has fewer ids than requested`);
  }
  const take = (order: string[], target: { n?: number; budget?: number }) => {
    if (target.n !== undefined) return order.slice(0, target.n);
    const taken: string[] = [];
    let total = 0;
    for (const id of order) {
      if (total >= target.budget!) break;
      taken.push(id);
      total += characters!.get(id) ?? 0;
    }
    return taken;
  };
  if (!strata) return take(shuffleIds(unique, seed, "sample"), { n, budget: characterBudget }).sort(compareIds);

  const groups = new Map<string, string[]>();
  for (const id of unique) {
    const label = strata.get(id) ?? "";
    let group = groups.get(label);
    if (!group) groups.set(label, (group = []));
    group.push(id);
  }
  const labels = Array.from(groups.keys()).sort(compareIds);
  const shares = allocateProportionally(
    labels.map((label) => groups.get(label)!.length),
    n ?? characterBudget!,
  );
  return labels
    .flatMap((label, index) => {
      const order = shuffleIds(groups.get(label)!, seed, `sample:${label}`);
      return take(order, n !== undefined ? { n: shares[index] } : { budget: shares[index] });
    })
    .sort(compareIds);
}

/** Splits `total` into integer parts proportional to `sizes` (largest-remainder method). */
export function allocateProportionally(sizes: readonly number[], total: number): number[] {
  const population = sizes.reduce((sum, size) => sum + size, 0);
  if (population === 0) return sizes.map(() => 0);
  const exact = sizes.map((size) => (size / population) * total);
  const parts = exact.map(Math.floor);
  let remaining = total - parts.reduce((sum, part) => sum + part, 0);
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((left, right) => right.remainder - left.remainder || left.index - right.index);
  for (const { index } of order) {
    if (remaining <= 0) break;
    parts[index]! += 1;
    remaining -= 1;
  }
  return parts;
}
