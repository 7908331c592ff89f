/**
 * Agreement between two lists of paired scores (judge vs human): Pearson's r, Spearman's rho
 * (Pearson on average ranks, as scipy's `spearmanr`) and Kendall's tau-b (ties corrected, as
 * scipy's `kendalltau`). Each returns null when it is undefined (fewer than two pairs, or a
 * constant list).
 */

/** The three coefficients over `count` pairs. */
export interface Agreement {
  count: number;
  pearson: number | null;
  spearman: number | null;
  kendallTauB: number | null;
}

function checkLengths(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`paired lists differ in length: ${x.length} and ${y.length}`);
}

/** Pearson's correlation coefficient. */
export function pearsonCorrelation(x: readonly number[], y: readonly number[]): number | null {
  checkLengths(x, y);
  const n = x.length;
  if (n < 2) return null;
  const meanX = x.reduce((sum, value) => sum + value, 0) / n;
  const meanY = y.reduce((sum, value) => sum + value, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let index = 0; index < n; index += 1) {
    const dx = x[index]! - meanX;
    const dy = y[index]! - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return null;
  return covariance / Math.sqrt(varianceX * varianceY);
}

/** 1-based ranks, ties sharing the mean of their ranks. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let position = start; position <= end; position += 1) ranks[order[position]!.index] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's rank correlation (ties get average ranks). */
export function spearmanCorrelation(x: readonly number[], y: readonly number[]): number | null {
  checkLengths(x, y);
  return pearsonCorrelation(averageRanks(x), averageRanks(y));
}

/** Kendall's tau-b: (C - D) / sqrt((C + D + Tx) (C + D + Ty)), Tx/Ty pairs tied only in x/y. */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  checkLengths(x, y);
  let concordant = 0;
  let discordant = 0;
  let tiedOnlyX = 0;
  let tiedOnlyY = 0;
  for (let i = 0; i < x.length; i += 1) {
    for (let j = i + 1; j < x.length; j += 1) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiedOnlyX += 1;
      else if (dy === 0) tiedOnlyY += 1;
      else if (dx === dy) concordant += 1;
      else discordant += 1;
    }
  }
  const denominator = Math.sqrt((concordant + discordant + tiedOnlyX) * (concordant + discordant + tiedOnlyY));
  if (denominator === 0) return null;
  return (concordant - discordant) / denominator;
}

/** All three coefficients for paired scores. */
export function computeAgreement(x: readonly number[], y: readonly number[]): Agreement {
  return {
    count: x.length,
    pearson: pearsonCorrelation(x, y),
    spearman: spearmanCorrelation(x, y),
    kendallTauB: kendallTauB(x, y),
  };
}
