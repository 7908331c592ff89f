import type { CanonicalRecord } from "../record/canonical-record";
import { createSeededRandom, shuffleIds, shuffleWith } from "../sample/seeded-random";
import type { CompositionSpec } from "./composition-name";

/** Records of a parallel corpus: language -> id -> record. */
export type RecordsByLanguage = ReadonlyMap<string, ReadonlyMap<string, CanonicalRecord>>;

export interface BuildCompositionOptions {
  composition: CompositionSpec;
  /** Records by language; every id in `ids` must exist in every language of the composition. */
  records: RecordsByLanguage;
  /** The ids the composition draws from (the corpus' common id set, minus any validation ids). */
  ids: readonly string[];
  seed: number | string;
}

/**
 * Builds one composition as an ordered list of records:
 * - `XX`: every id in language xx;
 * - `XXYY...`: every id in every listed language (k x n rows);
 * - `XXYY...-sampled`: the ids shuffled with `"<seed>:assign:XXYY..."` and cut into k contiguous
 *   parts whose sizes differ by at most one (the first n mod k parts are one larger); part i is
 *   taken in the i-th language, so n rows in all and no id in two languages.
 * Rows are then shuffled with `"<seed>:order:<name>"`.
 */
export function buildComposition(options: BuildCompositionOptions): CanonicalRecord[] {
  const { composition, records, ids, seed } = options;
  const pick = (lang: string, id: string): CanonicalRecord => {
    const record = records.get(lang)?.get(id);
    if (!record) throw new Error(`internal: id "${id}" missing in language "${lang}" after alignment`);
    return record;
  };
  const rows: CanonicalRecord[] = [];
  if (composition.sampled) {
    const base = composition.name.replace(/-sampled$/, "");
    const order = shuffleIds(ids, seed, `assign:${base}`);
    const parts = composition.languages.length;
    const small = Math.floor(order.length / parts);
    const larger = order.length % parts;
    let start = 0;
    composition.languages.forEach((lang, part) => {
      const size = small + (part < larger ? 1 : 0);
      for (const id of order.slice(start, start + size)) rows.push(pick(lang, id));
      start += size;
    });
  } else {
    for (const id of ids) for (const lang of composition.languages) rows.push(pick(lang, id));
  }
  // Sort before shuffling so the output depends on the set of rows, not on the order ids came in.
  rows.sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : left.lang < right.lang ? -1 : left.lang > right.lang ? 1 : 0));
  return shuffleWith(rows, createSeededRandom(seed, `order:${composition.name}`));
}
