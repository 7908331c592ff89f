import { writerView, type EncodedRows } from "../corpus/encoded-rows";
import { RECORD_STRIDE, RecordSlot, type EncodedLanguageData, type RecordStore } from "../corpus/record-store";
import { sortedUniqueIds } from "../sample/seeded-random";
import type { CompositionPlan } from "./build-composition";
import type { RecordStatistics } from "./record-statistics";

/** Where the records of a set of ids are, per language: resolved once, used by every composition. */
export interface LocatedIds {
  /** The ids, sorted (`compareIds`). */
  ids: string[];
  languages: EncodedLanguageData[];
  /** Per language code: (language slot, record index) of `ids[i]` at 2i and 2i + 1. */
  positions: Map<string, Uint32Array>;
}

/** Looks every id up in every language's store (each id must be in each store). */
export function locateIds(ids: readonly string[], stores: ReadonlyMap<string, RecordStore>): LocatedIds {
  const sorted = sortedUniqueIds(ids);
  const slots = new Map<EncodedLanguageData, number>();
  const positions = new Map<string, Uint32Array>();
  for (const [lang, store] of stores) {
    const located = new Uint32Array(2 * sorted.length);
    sorted.forEach((id, position) => {
      const found = store.locate(id);
      if (found === undefined) throw new Error(`internal: id "${id}" missing in language "${lang}" after alignment`);
      let slot = slots.get(found.language);
      if (slot === undefined) slots.set(found.language, (slot = slots.size));
      located[2 * position] = slot;
      located[2 * position + 1] = found.index;
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
  const records = located.languages.map((language) => language.records);
  const rowsPerLanguage = new Array<number>(k).fill(0);
  const charactersPerLanguage = new Array<number>(k).fill(0);
  for (let row = 0; row < plan.order.length; row += 1) {
    const position = plan.order[row]!;
    const language = position % k;
    const positions = perLanguage[language]!;
    const at = 2 * positionOf[(position - language) / k]!;
    const slot = positions[at]!;
    const index = positions[at + 1]!;
    rows[2 * row] = slot;
    rows[2 * row + 1] = index;
    rowsPerLanguage[language]! += 1;
    charactersPerLanguage[language]! += records[slot]![index * RECORD_STRIDE + RecordSlot.characters]!;
  }
  // Languages with rows only, sorted, as `summariseRecords` reports them.
  const present = plan.languages.map((lang, index) => ({ lang, index })).filter(({ index }) => rowsPerLanguage[index]! > 0);
  present.sort((left, right) => (left.lang < right.lang ? -1 : 1));
  const byLanguage = (counts: number[]) => Object.fromEntries(present.map(({ lang, index }) => [lang, counts[index]!]));
  return {
    table: { languages: located.languages.map(writerView), rows },
    statistics: { rows: plan.order.length, rowsPerLanguage: byLanguage(rowsPerLanguage), charactersPerLanguage: byLanguage(charactersPerLanguage) },
  };
}
