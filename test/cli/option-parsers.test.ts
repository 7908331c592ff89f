import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { CONFIDENCE_RANGE, parseFraction, SHARE_RANGE } from "../../src/cli/option-parsers";

describe("parseFraction", () => {
  it("accepts a share in [0, 1): 0 is allowed, 1 is not", () => {
    expect(parseFraction("0", SHARE_RANGE)).toBe(0);
    expect(parseFraction("0.03", SHARE_RANGE)).toBe(0.03);
    expect(() => parseFraction("1", SHARE_RANGE)).toThrow('expected a number in [0, 1) such as 0.03, got "1"');
    expect(() => parseFraction("-0.1", SHARE_RANGE)).toThrow(InvalidArgumentError);
  });

  it("accepts a confidence level in (0, 1): neither end", () => {
    expect(parseFraction("0.95", CONFIDENCE_RANGE)).toBe(0.95);
    expect(() => parseFraction("0", CONFIDENCE_RANGE)).toThrow('expected a number in (0, 1) such as 0.95, got "0"');
    expect(() => parseFraction("1", CONFIDENCE_RANGE)).toThrow("(0, 1)");
  });

  it("rejects text, blanks and infinities in any range", () => {
    for (const value of ["", " ", "abc", "Infinity", "NaN", "0.5x"]) {
      expect(() => parseFraction(value, SHARE_RANGE)).toThrow(InvalidArgumentError);
    }
  });

  it("honours inclusive ends", () => {
    const closed = { min: 0, max: 1, minInclusive: true, maxInclusive: true, example: "0.5" };
    expect(parseFraction("1", closed)).toBe(1);
    expect(parseFraction("0", closed)).toBe(0);
  });
});
