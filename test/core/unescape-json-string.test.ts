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
});
