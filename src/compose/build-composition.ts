import type { CanonicalRecord } from "../record/canonical-record";
import { compareIds } from "../record/compare-ids";
import { createSeededRandom, shuffleInPlace, sortedUniqueIds } from "../sample/seeded-random";
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
 * A composition's rows as numbers: row r is id `ids[Math.floor(order[r] / k)]` in language
 * `languages[order[r] % k]`, with k = `languages.length`. Writers resolve these against stores;
 * no per-row objects are made.
 */
export interface CompositionPlan {
  /** The ids, sorted (`compareIds`) and without repeats. */
  ids: string[];
  languages: string[];
  order: Uint32Array;
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
  const plan = planComposition(composition, ids, seed);
  const k = plan.languages.length;
  return Array.from(plan.order, (position) => [plan.ids[Math.floor(position / k)]!, plan.languages[position % k]!]);
}

/** `compositionRows` as positions (see `CompositionPlan`). */
export function planComposition(composition: CompositionSpec, ids: readonly string[], seed: number | string): CompositionPlan {
  const sortedIds = sortedUniqueIds(ids);
  let languages: string[];
  let rows: Uint32Array;
  if (composition.sampled) {
    languages = [...composition.languages];
    const base = composition.name.replace(/-sampled$/, "");
    // The ids' positions in sortedIds, shuffled with the draws shuffleIds would make on the ids.
    const order = shuffleInPlace(Uint32Array.from(sortedIds, (_, index) => index), createSeededRandom(seed, `assign:${base}`));
    const small = Math.floor(order.length / languages.length);
    const larger = order.length % languages.length;
    rows = new Uint32Array(sortedIds.length);
    let start = 0;
    for (let part = 0; part < languages.length; part += 1) {
      const size = small + (part < larger ? 1 : 0);
      for (let index = start; index < start + size; index += 1) rows[order[index]!] = order[index]! * languages.length + part;
      start += size;
    }
  } else {
    languages = [...composition.languages].sort(compareIds);
    rows = new Uint32Array(sortedIds.length * languages.length);
    for (let row = 0; row < rows.length; row += 1) rows[row] = row;
  }
  return { ids: sortedIds, languages, order: shuffleInPlace(rows, createSeededRandom(seed, `order:${composition.name}`)) };
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
