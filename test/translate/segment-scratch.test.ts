import { test } from "vitest";
import { segmentMarkdown } from "../../src/translate/segment-markdown";
import { neutralText } from "../../src/translate/segment";
test("x", () => {
  const src = "# Title here\n\n> quoted *em* line\n> second `code` line\n\n| a | b |\n|---|---|\n| x y | <https://a.b> |\n\n- item www.example.com and [l](http://x.y/(a)) $x^2$\n  cont \\* esc &amp; \n\n```js\nx\n```\n";
  const doc = segmentMarkdown({ text: src });
  for (const p of doc.pieces) console.log(typeof p === "string" ? JSON.stringify(p) : "SEG " + JSON.stringify(neutralText(p)));
});
