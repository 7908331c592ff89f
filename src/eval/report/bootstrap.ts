import seedrandom from "seedrandom";
import { z } from "zod";
import { sumCompensated } from "./fastchat-average";
import { parseOptions } from "../../parse-options";

/** Options of the bootstrap confidence intervals. */
export const bootstrapOptionsSchema = z.strictObject({
  /** Number of bootstrap resamples (default 1000). */
  resamples: z.number().int().min(1).max(1_000_000).default(1000),
  /** Seed of the resampling; the same seed gives the same intervals. */
  seed: z.union([z.string(), z.number()]).default(0),
  /** Two-sided confidence level (default 0.95). */
  confidence: z.number().gt(0).lt(1).default(0.95),
});
export type BootstrapOptions = z.input<typeof bootstrapOptionsSchema>;

/** Options of `bootstrapMeanInterval`. */
export const bootstrapMeanIntervalOptionsSchema = bootstrapOptionsSchema.extend({
  /**
   * The scores, grouped in clusters that are resampled as a whole. MT-Bench resamples questions:
   * both turns (and any duplicate judgments) of a question stay together, since they are not
   * independent.
   */
  clusters: z.array(z.array(z.number())),
  /** Mixed into the seed so each cell of a report has its own stream, independent of the others. */
  stream: z.string().default(""),
});
export type BootstrapMeanIntervalOptions = z.input<typeof bootstrapMeanIntervalOptionsSchema>;

/** A mean with its percentile bootstrap interval. */
export interface BootstrapInterval {
  mean: number | null;
  lower: number | null;
  upper: number | null;
  resamples: number;
  confidence: number;
}

/**
 * Percentile bootstrap interval of the mean over all scores: each resample draws as many clusters
 * as there are, with replacement, and takes the mean over all scores of the drawn clusters (the
 * FastChat average of that resample). Quantiles are interpolated linearly (numpy's default).
 *
 * @example bootstrapMeanInterval({ clusters: [[8, 6], [9, 7]], seed: 1, resamples: 1000 })
 */
export function bootstrapMeanInterval(options: BootstrapMeanIntervalOptions): BootstrapInterval {
  const { clusters: allClusters, resamples, seed, confidence, stream } = parseOptions(bootstrapMeanIntervalOptionsSchema, options, "bootstrapMeanInterval");
  const clusters = allClusters.filter((cluster) => cluster.length > 0);
  const scores = clusters.flat();
  if (scores.length === 0) return { mean: null, lower: null, upper: null, resamples, confidence };
  const mean = sumCompensated(scores) / scores.length;
  const sums = clusters.map((cluster) => sumCompensated(cluster));
  const sizes = clusters.map((cluster) => cluster.length);
  const means: number[] = [];
  for (const drawn of drawResamples({ clusterCount: clusters.length, resamples, seed, stream })) {
    let total = 0;
    let count = 0;
    for (const index of drawn) {
      total += sums[index]!;
      count += sizes[index]!;
    }
    means.push(total / count);
  }
  means.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return {
    mean,
    lower: quantile(means, alpha),
    upper: quantile(means, 1 - alpha),
    resamples,
    confidence,
  };
}

/**
 * The clusters each bootstrap resample draws: `clusterCount` indices with replacement per resample,
 * from the stream seeded by `seed` and `stream`. The same arguments give the same draws, which is what
 * makes intervals reproducible, and lets a test recompute them with an independent method (numpy).
 */
export function* drawResamples(options: { clusterCount: number; resamples: number; seed: string | number; stream?: string }): Generator<Uint32Array> {
  const random = seedrandom(`${options.seed}|${options.stream ?? ""}`);
  for (let resample = 0; resample < options.resamples; resample += 1) {
    const drawn = new Uint32Array(options.clusterCount);
    for (let draw = 0; draw < options.clusterCount; draw += 1) drawn[draw] = Math.floor(random() * options.clusterCount);
    yield drawn;
  }
}

/** Linear-interpolated quantile of sorted values (numpy `percentile` default method). */
export function quantile(sorted: readonly number[], probability: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of an empty list");
  const position = (sorted.length - 1) * probability;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  const high = sorted[above]!;
  return low + (high - low) * (position - below);
}
