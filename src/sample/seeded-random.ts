import seedrandom from "seedrandom";
import { compareIds } from "../record/compare-ids";

/** A generator of doubles in [0, 1). */
export type RandomSource = () => number;

/**
 * seedrandom's ARC4 generator (identical in Node, Deno and browsers) seeded with
 * `"<seed>:<purpose>"`, so each use of randomness in a run draws from its own stream and adding a
 * new use never changes the others.
 */
export function createSeededRandom(seed: number | string, purpose: string): RandomSource {
  return seedrandom(`${seed}:${purpose}`);
}

/** Fisher-Yates shuffle of a copy of `items`, driven by `random`. */
export function shuffleWith<T>(items: readonly T[], random: RandomSource): T[] {
  return shuffleInPlace(items.slice(), random);
}

/** `shuffleWith` without the copy, for arrays and typed arrays alike (the same draws, the same order). */
export function shuffleInPlace<A extends { length: number; [index: number]: unknown }>(items: A, random: RandomSource): A {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    const held = items[index];
    items[index] = items[other];
    items[other] = held;
  }
  return items;
}

/**
 * Shuffles a set of ids so the result depends only on the seed, the purpose and the set itself:
 * the ids are sorted first, so the order they were read in does not matter.
 */
export function shuffleIds(ids: Iterable<string>, seed: number | string, purpose: string): string[] {
  const sorted = sortedUniqueIds(ids);
  return shuffleWith(sorted, createSeededRandom(seed, purpose));
}

/**
 * The ids sorted (`compareIds`) without repeats. Ids usually arrive sorted already (a corpus' common
 * ids, a split of them): that is checked in one pass, and the sort skipped.
 */
export function sortedUniqueIds(ids: Iterable<string>): string[] {
  const list = Array.isArray(ids) ? (ids as string[]) : Array.from(ids);
  let ordered = true;
  for (let index = 1; index < list.length && ordered; index += 1) ordered = list[index - 1]! < list[index]!;
  return ordered ? list.slice() : Array.from(new Set(list)).sort(compareIds);
}
