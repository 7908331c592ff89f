import { UsageError } from "../errors";
import { isIso639_1 } from "../record/language-codes";

/** A parsed composition name such as `DEFRITES-sampled`. */
export interface CompositionSpec {
  /** The name as written: `ENDEFRITES`, `DEFRITES-sampled`. */
  name: string;
  /** Lowercase language codes in the order of the name. */
  languages: string[];
  /** `-sampled`: each id in exactly one of the languages; otherwise every id in every language. */
  sampled: boolean;
}

const SAMPLED_SUFFIX = "-sampled";

/**
 * Parses a composition name: a concatenation of upper-case ISO 639-1 codes (`EN`, `ENDEFRITES`),
 * optionally followed by `-sampled`. Throws a UsageError that says what a valid name looks like.
 */
export function parseCompositionName(name: string): CompositionSpec {
  const sampled = name.endsWith(SAMPLED_SUFFIX);
  const codes = sampled ? name.slice(0, -SAMPLED_SUFFIX.length) : name;
  const problem = (why: string) =>
    new UsageError(
      `unknown composition "${name}": ${why}. A composition is upper-case two-letter ISO 639-1 codes, optionally with -sampled, e.g. EN, DEFRITES, ENDEFRITES-sampled`,
    );
  if (codes.length === 0 || codes.length % 2 !== 0 || !/^[A-Z]+$/.test(codes)) throw problem("not a sequence of upper-case two-letter codes");
  const languages: string[] = [];
  for (let index = 0; index < codes.length; index += 2) {
    const code = codes.slice(index, index + 2).toLowerCase();
    if (!isIso639_1(code)) throw problem(`"${code.toUpperCase()}" is not an ISO 639-1 language code`);
    if (languages.includes(code)) throw problem(`"${code.toUpperCase()}" appears twice`);
    languages.push(code);
  }
  return { name, languages, sampled };
}

/** The name of a composition of these languages: `["de", "fr"]` -> `DEFR` (or `DEFR-sampled`). */
export function formatCompositionName(languages: readonly string[], sampled = false): string {
  return languages.map((code) => code.toUpperCase()).join("") + (sampled ? SAMPLED_SUFFIX : "");
}

/** The study's nine compositions for a list of languages whose first is the source language. */
export function studyCompositions(languages: readonly string[]): string[] {
  const targets = languages.slice(1);
  return [
    ...languages.map((code) => code.toUpperCase()),
    formatCompositionName(languages),
    formatCompositionName(targets),
    formatCompositionName(languages, true),
    formatCompositionName(targets, true),
  ];
}
