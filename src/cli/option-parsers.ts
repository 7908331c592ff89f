import { InvalidArgumentError } from "commander";
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

/** A share in [0, 1), e.g. `0.03`. */
export function parseFraction(value: string): number {
  const number = parseNonNegativeNumber(value);
  if (number >= 1) throw new InvalidArgumentError(`expected a share below 1 such as 0.03, got "${value}"`);
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
