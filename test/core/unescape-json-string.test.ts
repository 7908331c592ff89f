import { describe, expect, it } from "vitest";
import { unescapeJsonString } from "../../src/io/unescape-json-string";

describe("unescapeJsonString", () => {
  it("gives the UTF-8 bytes of what JSON.parse gives, for every kind of escape", () => {
    const samples = [
      "plain text",
      "line\nbreak\ttab\rreturn \"quoted\" back\\slash /slash",
      "\u0000\u0001\u001f controls \b\f",
      "ünïcödé 中文 עברית 🎉 and \ud83d\ude00 pairs",
      "lone \ud800 high and \udc00 low surrogates",
      "\\u00e9 is not an escape here",
      "",
    ];
    for (const text of samples) {
      const json = Buffer.from(JSON.stringify(text), "utf8");
      const target = new Uint8Array(json.length);
      const end = unescapeJsonString(json, 1, json.length - 1, target, 0);
      expect(Buffer.from(target.subarray(0, end)).toString("utf8"), JSON.stringify(text)).toBe(Buffer.from(text, "utf8").toString("utf8"));
      expect(Buffer.from(target.subarray(0, end)).equals(Buffer.from(text, "utf8"))).toBe(true);
    }
  });

  it("reads escapes other encoders write (\\u for any character, \\/), and stops at the value's end", () => {
    // As Python's json.dumps(ensure_ascii=True) writes "é😀/", followed by another escaped value.
    const source = Buffer.from('"caf\\u00e9 \\ud83d\\ude00 a\\/b\\n","next\\nvalue"', "utf8");
    const end = source.indexOf('","');
    const target = new Uint8Array(64).fill(33);
    const written = unescapeJsonString(source, 1, end, target, 3);
    expect(Buffer.from(target.subarray(3, written)).toString("utf8")).toBe("café 😀 a/b\n");
    // It may use up to the escaped length as scratch, and no more.
    expect(target[3 + end - 1]).toBe(33);
    expect(Array.from(target.subarray(0, 3))).toEqual([33, 33, 33]);
  });
});
