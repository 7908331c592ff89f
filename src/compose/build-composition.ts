import type { CanonicalRecord } from "../record/canonical-record";
import { compareIds, createSeededRandom, shuffleIds, shuffleWith } from "../sample/seeded-random";
import type { CompositionSpec } from "./composition-name";

/** Records of a parallel corpus: language -> id -> record (a `RecordStore` or a plain Map). */
export type RecordsByLanguage<T = CanonicalRecord> = ReadonlyMap<string, { get(id: string): T | undefined }>;

export interface BuildCompositionOptions<T = CanonicalRecord> {
  composition: CompositionSpec;
  /** Records by language; every id in `ids` must exist in every language of the composition. */
  records: RecordsByLanguage<T>;
  /** The ids the composition draws from (the corpus' common id set, minus any validation ids). */
  ids: readonly string[];
  seed: number | string;
}

/**
 * The (id, language) rows of a composition, in output order:
 * - `XX`: every id in language xx;
 * - `XXYY...`: every id in every listed language (k x n rows);
 * - `XXYY...-sampled`: the ids shuffled with `"<seed>:assign:XXYY..."` and cut into k contiguous
 *   parts whose sizes differ by at most one (the first n mod k parts are one larger); part i is
 *   taken in the i-th language, so n rows in all and no id in two languages.
 * Rows are sorted by (id, language) and then shuffled with `"<seed>:order:<name>"`, so the order
 * depends on the set of rows and the seed only.
 */
export function compositionRows(composition: CompositionSpec, ids: readonly string[], seed: number | string): [id: string, lang: string][] {
  const sortedIds = Array.from(new Set(ids)).sort(compareIds);
  const rows: [string, string][] = [];
  if (composition.sampled) {
    const base = composition.name.replace(/-sampled$/, "");
    const order = shuffleIds(sortedIds, seed, `assign:${base}`);
    const parts = composition.languages.length;
    const small = Math.floor(order.length / parts);
    const larger = order.length % parts;
    const assigned = new Map<string, string>();
    let start = 0;
    composition.languages.forEach((lang, part) => {
      const size = small + (part < larger ? 1 : 0);
      for (let index = start; index < start + size; index += 1) assigned.set(order[index]!, lang);
      start += size;
    });
    for (const id of sortedIds) rows.push([id, assigned.get(id)!]);
  } else {
    const languages = [...composition.languages].sort(compareIds);
    for (const id of sortedIds) for (const lang of languages) rows.push([id, lang]);
  }
  return shuffleWith(rows, createSeededRandom(seed, `order:${composition.name}`));
}

/** Builds one composition as an ordered list of records (see `compositionRows` for the algorithm). */
export function buildComposition<T = CanonicalRecord>(options: BuildCompositionOptions<T>): T[] {
  const { composition, records, ids, seed } = options;
  return compositionRows(composition, ids, seed).map(([id, lang]) => {
    const record = records.get(lang)?.get(id);
    if (record === undefined) throw new Error(`internal: id "${id}" missing in language "${lang}" after alignment`);
    return record;
  });
}
