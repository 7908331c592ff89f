import { writerView, type EncodedRows } from "../record/encoded-rows";
import type { RecordStore } from "../encode/record-store";
import { RECORD_STRIDE, RecordSlot, type EncodedLanguageData } from "../record/encoded-record";
import { sortedUniqueIds } from "../sample/seeded-random";
import type { CompositionPlan } from "./build-composition";
import type { RecordStatistics } from "../record/record-statistics";

/** Where the records of a set of ids are, per language: resolved once, used by every composition. */
export interface LocatedIds {
  /** The ids, sorted (`compareIds`). */
  ids: string[];
  languages: EncodedLanguageData[];
  /**
   * Per language code: the language slot, record index and characters of `ids[i]` at 3i, 3i + 1
   * and 3i + 2, side by side: a composition reads them in shuffled order, one cache line per row.
   */
  positions: Map<string, Uint32Array>;
}

const LOCATED_STRIDE = 3;

/** Looks every id up in every language's store (each id must be in each store). */
export function locateIds(ids: readonly string[], stores: ReadonlyMap<string, RecordStore>): LocatedIds {
  const sorted = sortedUniqueIds(ids);
  const slots = new Map<EncodedLanguageData, number>();
  const positions = new Map<string, Uint32Array>();
  for (const [lang, store] of stores) {
    const located = new Uint32Array(LOCATED_STRIDE * sorted.length);
    sorted.forEach((id, position) => {
      const found = store.locate(id);
      if (found === undefined) throw new Error(`internal: id "${id}" missing in language "${lang}" after alignment`);
      let slot = slots.get(found.language);
      if (slot === undefined) slots.set(found.language, (slot = slots.size));
      located[LOCATED_STRIDE * position] = slot;
      located[LOCATED_STRIDE * position + 1] = found.index;
      located[LOCATED_STRIDE * position + 2] = found.language.records[found.index * RECORD_STRIDE + RecordSlot.characters]!;
    });
    positions.set(lang, located);
  }
  return { ids: sorted, languages: [...slots.keys()], positions };
}

/**
 * A planned composition resolved against located ids (its ids must be among them): the rows
 * writers take, and the statistics the manifest records. Numbers only, however many rows.
 */
export function compositionTable(plan: CompositionPlan, located: LocatedIds): { table: EncodedRows; statistics: RecordStatistics } {
  const k = plan.languages.length;
  // Both id lists are sorted: walk them together to find each plan id's position.
  const positionOf = new Uint32Array(plan.ids.length);
  let cursor = 0;
  plan.ids.forEach((id, index) => {
    while (cursor < located.ids.length && located.ids[cursor] !== id) cursor += 1;
    if (cursor === located.ids.length) throw new Error(`internal: id "${id}" was not located`);
    positionOf[index] = cursor;
  });
  const perLanguage = plan.languages.map((lang) => located.positions.get(lang)!);
  const rows = new Uint32Array(2 * plan.order.length);
  const rowsPerLanguage = new Float64Array(k);
  const charactersPerLanguage = new Float64Array(k);
  for (let row = 0; row < plan.order.length; row += 1) {
    const position = plan.order[row]!;
    const language = position % k;
    const positions = perLanguage[language]!;
    const at = LOCATED_STRIDE * positionOf[(position - language) / k]!;
    rows[2 * row] = positions[at]!;
    rows[2 * row + 1] = positions[at + 1]!;
    rowsPerLanguage[language]! += 1;
    charactersPerLanguage[language]! += positions[at + 2]!;
  }
  // Languages with rows only, sorted, as `summariseRecords` reports them.
  const present = plan.languages.map((lang, index) => ({ lang, index })).filter(({ index }) => rowsPerLanguage[index]! > 0);
  present.sort((left, right) => (left.lang < right.lang ? -1 : 1));
  const byLanguage = (counts: Float64Array) => Object.fromEntries(present.map(({ lang, index }) => [lang, counts[index]!]));
  return {
    table: { languages: located.languages.map(writerView), rows },
    statistics: { rows: plan.order.length, rowsPerLanguage: byLanguage(rowsPerLanguage), charactersPerLanguage: byLanguage(charactersPerLanguage) },
  };
}
