import { z } from "zod";
import { UsageError } from "../../errors";

/**
 * The study's cross-lingual comparison: how much a model tuned on a multilingual composition
 * (e.g. `ENDEFRITES`) improves over one tuned on a single language, per dataset and evaluation
 * language, in percent of the monolingual score.
 */

/** The token that stands for "the composition of the evaluation language" (`ENDEFRITES:@lang`). */
export const EVALUATION_LANGUAGE_TOKEN = "@lang";

/**
 * One comparison. Each side is either an exact model id, or a composition code (`ENDEFRITES`,
 * `DE`) matched against the tokens of model ids (`lima-x-ENDEFRITES` and `lima-x-DE` form the pair
 * `ENDEFRITES:DE` of dataset `lima-x`). `monolingual` may be `@lang`: the model tuned on the
 * evaluation language itself.
 */
export const comparisonPairSchema = z.strictObject({
  multilingual: z.string().min(1),
  monolingual: z.string().min(1),
});
export type ComparisonPair = z.infer<typeof comparisonPairSchema>;

/**
 * Parses `"ENDEFRITES:DE,ENDEFRITES:@lang"` or a JSON array of `{multilingual, monolingual}` (or of
 * `"A:B"` strings) into pairs.
 */
export function parseComparisonPairs(specification: string): ComparisonPair[] {
  const text = specification.trim();
  if (text === "") return [];
  if (text.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`comparison pairs are not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (!Array.isArray(value)) throw new UsageError("comparison pairs: expected a JSON array");
    return value.map((item, index) => {
      if (typeof item === "string") return parsePairString(item);
      const parsed = comparisonPairSchema.safeParse(item);
      if (!parsed.success) {
        throw new UsageError(`comparison pair ${index}: expected {"multilingual": "...", "monolingual": "..."} or "A:B"`);
      }
      return parsed.data;
    });
  }
  return text.split(",").map((part) => parsePairString(part));
}

function parsePairString(text: string): ComparisonPair {
  const parts = text.trim().split(":");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new UsageError(`comparison pair "${text}": expected MULTILINGUAL:MONOLINGUAL, e.g. ENDEFRITES:DE or ENDEFRITES:@lang`);
  }
  return { multilingual: parts[0].trim(), monolingual: parts[1].trim() };
}

/** One model's score in one evaluation language (the FastChat average). */
export interface LanguageScore {
  model: string;
  lang: string;
  score: number | null;
}

/** One line of the comparison table. */
export interface CrossLingualComparison {
  /** The model id with the composition replaced by `*` (`lima-x-*`), or `a vs b` for exact ids. */
  dataset: string;
  evaluationLanguage: string;
  pair: string;
  multilingualModel: string;
  monolingualModel: string;
  multilingualScore: number;
  monolingualScore: number;
  /** `(multilingual - monolingual) / monolingual * 100`. */
  improvementPercent: number;
}

/** Options of `compareCrossLingual`. */
export interface CompareCrossLingualOptions {
  /** FastChat averages per model and language. */
  scores: readonly LanguageScore[];
  pairs: readonly ComparisonPair[];
}

function tokensOf(model: string): string[] {
  return model.split(/[-_./:]+/);
}

/** Models whose id contains `code` as a token, keyed by their dataset (id with that token as `*`). */
function modelsByDataset(models: readonly string[], code: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const model of models) {
    if (!tokensOf(model).includes(code)) continue;
    // Keep the separators: replace the token in the original string at its occurrence.
    const pattern = new RegExp(`(^|[-_./:])${escapeRegExp(code)}(?=$|[-_./:])`);
    found.set(model.replace(pattern, (_, separator: string) => `${separator}*`), model);
  }
  return found;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Percentage improvement of each multilingual model over its monolingual counterpart, for every
 * dataset and evaluation language where both have a score. Sorted by pair, dataset, language.
 */
export function compareCrossLingual(options: CompareCrossLingualOptions): CrossLingualComparison[] {
  const scoreOf = new Map<string, number>();
  for (const entry of options.scores) if (entry.score !== null) scoreOf.set(`${entry.model}\u0000${entry.lang}`, entry.score);
  const models = [...new Set(options.scores.map((entry) => entry.model))].sort();
  const languages = [...new Set(options.scores.map((entry) => entry.lang))].sort();
  const rows: CrossLingualComparison[] = [];
  for (const pair of options.pairs) {
    const pairName = `${pair.multilingual}:${pair.monolingual}`;
    for (const lang of languages) {
      const monolingualCode = pair.monolingual === EVALUATION_LANGUAGE_TOKEN ? lang : pair.monolingual;
      const matches: { dataset: string; multilingualModel: string; monolingualModel: string }[] = [];
      if (models.includes(pair.multilingual) && models.includes(monolingualCode)) {
        matches.push({
          dataset: `${pair.multilingual} vs ${monolingualCode}`,
          multilingualModel: pair.multilingual,
          monolingualModel: monolingualCode,
        });
      } else {
        const multilingual = modelsByDataset(models, pair.multilingual);
        const monolingual = modelsByDataset(models, monolingualCode);
        for (const [dataset, multilingualModel] of multilingual) {
          const monolingualModel = monolingual.get(dataset);
          if (monolingualModel) matches.push({ dataset, multilingualModel, monolingualModel });
        }
      }
      for (const match of matches) {
        const multilingualScore = scoreOf.get(`${match.multilingualModel}\u0000${lang}`);
        const monolingualScore = scoreOf.get(`${match.monolingualModel}\u0000${lang}`);
        if (multilingualScore === undefined || monolingualScore === undefined || monolingualScore === 0) continue;
        rows.push({
          evaluationLanguage: lang,
          pair: pairName,
          ...match,
          multilingualScore,
          monolingualScore,
          improvementPercent: ((multilingualScore - monolingualScore) / monolingualScore) * 100,
        });
      }
    }
  }
  return rows.sort(
    (a, b) =>
      compare(a.pair, b.pair) || compare(a.dataset, b.dataset) || compare(a.evaluationLanguage, b.evaluationLanguage),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
