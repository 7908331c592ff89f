import type { ParallelCorpus } from "../corpus/load-parallel-corpus";

/**
 * Each common id's stratum for `sampleIds`: its record's `meta[field]` in language `lang`, as a
 * string ("" when the field is absent). One language decides, so the strata are the same whatever
 * the other languages' meta say.
 */
export function strataByMetaField(options: { corpus: ParallelCorpus; field: string; lang: string }): Map<string, string> {
  const { corpus, field, lang } = options;
  const records = corpus.records.get(lang)!;
  return new Map(corpus.commonIds.map((id) => [id, String(records.get(id)!.meta[field] ?? "")]));
}
