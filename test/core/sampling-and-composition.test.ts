import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import {
  UsageError,
  allocateProportionally,
  buildComposition,
  parseCompositionName,
  sampleIds,
  shuffleIds,
  splitValidation,
  studyCompositions,
  type CanonicalRecord,
} from "../../src/index";

const ids = Array.from({ length: 200 }, (_, index) => `alpaca-${index}`);

function corpus(languages: string[], idList: string[]) {
  return new Map(
    languages.map((lang) => [
      lang,
      new Map(idList.map((id): [string, CanonicalRecord] => [id, { id, lang, source: "t", messages: [{ role: "user", content: `${id} ${lang}` }], meta: {} }])),
    ]),
  );
}

describe("seeded sampling", () => {
  it("depends only on the seed and the set of ids, not their order", () => {
    const reversed = [...ids].reverse();
    expect(sampleIds({ ids, n: 30, seed: 42 })).toEqual(sampleIds({ ids: reversed, n: 30, seed: 42 }));
    expect(sampleIds({ ids, n: 30, seed: 42 })).not.toEqual(sampleIds({ ids, n: 30, seed: 43 }));
    expect(new Set(sampleIds({ ids, n: 30, seed: 1 })).size).toBe(30);
  });

  it("follows the documented algorithm: sorted ids, Fisher-Yates with seedrandom('<seed>:sample')", () => {
    const random = seedrandom("42:sample");
    const expected = [...ids].sort();
    for (let index = expected.length - 1; index > 0; index -= 1) {
      const other = Math.floor(random() * (index + 1));
      [expected[index], expected[other]] = [expected[other]!, expected[index]!];
    }
    expect(shuffleIds(ids, 42, "sample")).toEqual(expected);
    expect(sampleIds({ ids, n: 5, seed: 42 })).toEqual(expected.slice(0, 5).sort());
  });

  it("keeps the mix of a stratum and sizes by a character budget", () => {
    const strata = new Map(ids.map((id, index) => [id, index < 150 ? "alpaca" : "dolly"]));
    const sample = sampleIds({ ids, n: 40, seed: 3, strata });
    expect(sample.filter((id) => strata.get(id) === "alpaca").length).toBe(30);
    expect(sample.filter((id) => strata.get(id) === "dolly").length).toBe(10);

    const characters = new Map(ids.map((id) => [id, 100]));
    const budgeted = sampleIds({ ids, characterBudget: 1050, characters, seed: 3 });
    expect(budgeted.length).toBe(11); // takes ids until the budget is reached
    expect(allocateProportionally([3, 1], 10)).toEqual([8, 2]);
  });

  it("refuses to sample more ids than there are", () => {
    expect(() => sampleIds({ ids, n: 201, seed: 1 })).toThrow(UsageError);
  });

  it("holds out validation ids by id, disjoint from training", () => {
    const { train, validation } = splitValidation({ ids, fraction: 0.03, seed: 5 });
    expect(validation.length).toBe(6);
    expect(train.length).toBe(194);
    expect(train.some((id) => validation.includes(id))).toBe(false);
  });
});

describe("compositions", () => {
  it("parses any list of two-letter codes, with -sampled", () => {
    expect(parseCompositionName("ENDEFRITES")).toEqual({ name: "ENDEFRITES", languages: ["en", "de", "fr", "it", "es"], sampled: false });
    expect(parseCompositionName("JAKO-sampled")).toEqual({ name: "JAKO-sampled", languages: ["ja", "ko"], sampled: true });
    expect(() => parseCompositionName("ENXX")).toThrow(/"XX" is not an ISO 639-1 language code.*e\.g\. EN, DEFRITES/);
    expect(() => parseCompositionName("ENG")).toThrow(UsageError);
    expect(() => parseCompositionName("ENEN")).toThrow(/appears twice/);
    expect(studyCompositions(["en", "de", "fr", "it", "es"])).toEqual([
      "EN", "DE", "FR", "IT", "ES", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled",
    ]);
  });

  it("monolingual: n rows; parallel: k x n rows, every id in every language", () => {
    const records = corpus(["en", "de", "fr"], ids);
    expect(buildComposition({ composition: parseCompositionName("DE"), records, ids, seed: 1 }).length).toBe(200);
    const parallel = buildComposition({ composition: parseCompositionName("ENDEFR"), records, ids, seed: 1 });
    expect(parallel.length).toBe(600);
    expect(new Set(parallel.map((record) => `${record.id}/${record.lang}`)).size).toBe(600);
  });

  it("-sampled: n rows, each id in exactly one language, part sizes differ by at most one", () => {
    const records = corpus(["de", "fr", "it", "es"], ids.slice(0, 103));
    const sampled = buildComposition({ composition: parseCompositionName("DEFRITES-sampled"), records, ids: ids.slice(0, 103), seed: 9 });
    expect(sampled.length).toBe(103);
    expect(new Set(sampled.map((record) => record.id)).size).toBe(103);
    const perLanguage = ["de", "fr", "it", "es"].map((lang) => sampled.filter((record) => record.lang === lang).length);
    expect(perLanguage).toEqual([26, 26, 26, 25]);
  });

  it("shuffles the output by seed; the same seed gives the same order", () => {
    const records = corpus(["en"], ids);
    const first = buildComposition({ composition: parseCompositionName("EN"), records, ids, seed: 1 }).map((record) => record.id);
    const again = buildComposition({ composition: parseCompositionName("EN"), records, ids: [...ids].reverse(), seed: 1 }).map((record) => record.id);
    const other = buildComposition({ composition: parseCompositionName("EN"), records, ids, seed: 2 }).map((record) => record.id);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect([...first].sort()).toEqual([...ids].sort());
  });
});
