/**
 * Agreement between judges on categorical verdicts (pairwise: `model_1`, `model_2`, `tie`):
 * Cohen's kappa for two judges and Fleiss' kappa for any number, both chance-corrected. Each
 * returns null when it is undefined (no items, or chance agreement of 1: every verdict the same).
 */

/** Cohen's kappa of two judges over the same items: (po - pe) / (1 - pe). */
export function cohenKappa(first: readonly string[], second: readonly string[]): number | null {
  if (first.length !== second.length) throw new RangeError(`paired lists differ in length: ${first.length} and ${second.length}`);
  const n = first.length;
  if (n === 0) return null;
  let agreed = 0;
  const countsFirst = new Map<string, number>();
  const countsSecond = new Map<string, number>();
  for (let index = 0; index < n; index += 1) {
    if (first[index] === second[index]) agreed += 1;
    countsFirst.set(first[index]!, (countsFirst.get(first[index]!) ?? 0) + 1);
    countsSecond.set(second[index]!, (countsSecond.get(second[index]!) ?? 0) + 1);
  }
  const observed = agreed / n;
  let expected = 0;
  for (const [category, count] of countsFirst) expected += (count / n) * ((countsSecond.get(category) ?? 0) / n);
  if (expected === 1) return null;
  return (observed - expected) / (1 - expected);
}

/**
 * Fleiss' kappa: `ratings[item]` holds the verdicts of the item's raters; every item needs the same
 * number of raters (at least two).
 */
export function fleissKappa(ratings: readonly (readonly string[])[]): number | null {
  const items = ratings.length;
  if (items === 0) return null;
  const raters = ratings[0]!.length;
  if (raters < 2) throw new RangeError("Fleiss' kappa needs at least two raters per item");
  if (ratings.some((item) => item.length !== raters)) throw new RangeError("Fleiss' kappa needs the same number of raters for every item");
  const totals = new Map<string, number>();
  let observedSum = 0;
  for (const item of ratings) {
    const counts = new Map<string, number>();
    for (const verdict of item) counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
    let pairs = 0;
    for (const [verdict, count] of counts) {
      pairs += count * (count - 1);
      totals.set(verdict, (totals.get(verdict) ?? 0) + count);
    }
    observedSum += pairs / (raters * (raters - 1));
  }
  const observed = observedSum / items;
  let expected = 0;
  for (const count of totals.values()) expected += (count / (items * raters)) ** 2;
  if (expected === 1) return null;
  return (observed - expected) / (1 - expected);
}
