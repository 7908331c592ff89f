import { InvalidArgumentError } from "commander";
import { parseCompositionName } from "../compose/composition-name";
import { isIso639_1 } from "../record/language-codes";

/** `"de,fr, it"` -> `["de", "fr", "it"]`, each checked to be an ISO 639-1 code. */
export function parseLanguageList(value: string): string[] {
  const languages = parseList(value);
  const invalid = languages.filter((code) => !isIso639_1(code));
  if (languages.length === 0 || invalid.length > 0) {
    throw new InvalidArgumentError(`expected comma-separated ISO 639-1 codes such as en,de,fr,it,es${invalid.length ? ` (bad: ${invalid.join(", ")})` : ""}`);
  }
  return languages;
}

/** A comma-separated list, trimmed, empty entries dropped. */
export function parseList(value: string): string[] {
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/** `"EN,DEFRITES"` -> `["EN", "DEFRITES"]`: at least one name, each a valid composition name. */
export function parseCompositionList(value: string): string[] {
  const names = parseList(value);
  if (names.length === 0) throw new InvalidArgumentError("expected comma-separated composition names such as EN,DE,ENDEFRITES");
  for (const [index, name] of names.entries()) {
    try {
      parseCompositionName(name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    // Each composition is one output file: a second one would be written over the first.
    if (names.indexOf(name) !== index) throw new InvalidArgumentError(`"${name}" is listed twice`);
  }
  return names;
}

/** A seed: an integer (kept exact, so within +-2^53) or any other word, which seeds by its text. */
export function parseSeed(value: string): number | string {
  if (value.trim() === "") throw new InvalidArgumentError("expected a seed such as 0 or 42");
  return /^-?\d+$/.test(value.trim()) ? parseInteger(value) : value;
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new InvalidArgumentError(`expected an integer between -9007199254740991 and 9007199254740991, got "${value}"`);
  return number;
}

export function parsePositiveInteger(value: string): number {
  const number = parseInteger(value);
  if (number <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return number;
}

export function parseNonNegativeNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  return number;
}

/** The interval a fraction option must lie in; an end is allowed only when marked inclusive. */
export interface FractionRange {
  min: number;
  max: number;
  minInclusive: boolean;
  maxInclusive: boolean;
  /** A value shown in the error message, e.g. `"0.03"`. */
  example: string;
}

/** A share to hold out or keep, in [0, 1): 0 is "none", 1 would leave nothing. */
export const SHARE_RANGE: FractionRange = { min: 0, max: 1, minInclusive: true, maxInclusive: false, example: "0.03" };

/** A confidence level, in (0, 1): neither end describes an interval. */
export const CONFIDENCE_RANGE: FractionRange = { min: 0, max: 1, minInclusive: false, maxInclusive: false, example: "0.95" };

function describeRange(range: FractionRange): string {
  return `${range.minInclusive ? "[" : "("}${range.min}, ${range.max}${range.maxInclusive ? "]" : ")"}`;
}

/** Parses a decimal number and checks it lies in `range`, e.g. `parseFraction("0.03", SHARE_RANGE)` -> `0.03`. */
export function parseFraction(value: string, range: FractionRange): number {
  const number = Number(value);
  const inRange =
    value.trim() !== "" &&
    Number.isFinite(number) &&
    (range.minInclusive ? number >= range.min : number > range.min) &&
    (range.maxInclusive ? number <= range.max : number < range.max);
  if (!inRange) throw new InvalidArgumentError(`expected a number in ${describeRange(range)} such as ${range.example}, got "${value}"`);
  return number;
}

/** `--arrow-format`: the Arrow IPC layout of written `.arrow` files. */
export function parseArrowFormat(value: string): "stream" | "file" {
  const layout = value.trim();
  if (layout !== "stream" && layout !== "file") {
    throw new InvalidArgumentError(`expected stream (what datasets.Dataset.from_file memory-maps) or file (pyarrow.ipc.open_file), got "${value}"`);
  }
  return layout;
}

/** A commander option parser for fractions in `range`. */
export function fractionIn(range: FractionRange): (value: string) => number {
  return (value) => parseFraction(value, range);
}
