import { describe, expect, it } from "vitest";
import { countCodePoints } from "../../src/text/count-code-points";

describe("countCodePoints", () => {
  it("counts a surrogate pair once", () => {
    expect(countCodePoints("")).toBe(0);
    expect(countCodePoints("abc")).toBe(3);
    expect(countCodePoints("Grüße 😀")).toBe(7);
    expect(countCodePoints("😀😀")).toBe(2);
  });

  it("counts each lone surrogate as one code point, as string iteration does", () => {
    const cases = ["\ud83d", "\ude00", "a\ude00b", "\ude00\ud83d", "x\ud83d", "\ud83d\ud83d\ude00", "\ude00\ude00", "😀\ude00"];
    const expected = [1, 1, 3, 2, 2, 2, 2, 2];
    expect(cases.map(countCodePoints)).toEqual(expected);
    for (const text of cases) expect(countCodePoints(text)).toBe([...text].length);
  });
});
