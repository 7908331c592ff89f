import { describe, expect, it } from "vitest";
import { neutralText, proseText, type Segment } from "../../src/translate/segment";
import { segmentMarkdown } from "../../src/translate/segment-markdown";

function segmentsOf(text: string, options: { protectPatterns?: RegExp[]; maxSegmentCharacters?: number } = {}): Segment[] {
  return segmentMarkdown({ text, ...options }).pieces.filter((piece): piece is Segment => typeof piece !== "string");
}

/** Reassembles with every prose part replaced by upper case: protected and verbatim text must not change. */
function shout(text: string): string {
  return segmentMarkdown({ text })
    .pieces.map((piece) =>
      typeof piece === "string" ? piece : piece.parts.map((part) => (part.kind === "text" ? part.text.toUpperCase() : part.text)).join(""),
    )
    .join("");
}

const TRICKY = [
  "# Heading with `code`",
  "",
  "Intro paragraph with **bold**, *emphasis*, ~~strike~~ and a [link](https://example.com/wiki/Foo_(bar) \"title\").",
  "",
  "````markdown",
  "```python",
  "def count_words(text):",
  "    return len(text.split())   ",
  "```",
  "````",
  "",
  "~~~",
  "tilde fence with trailing spaces   ",
  "~~~",
  "",
  "1. First item with ``inline `backtick` code``",
  "2. Second item:",
  "",
  "   ```js",
  "   const answer = 42; // do not translate",
  "   ```",
  "",
  "   Continued paragraph in the item.",
  "",
  "> A quote that spans",
  "> two lines with $E = mc^2$ inside.",
  "",
  "$$",
  "\\int_0^1 x^2 \\, dx",
  "$$",
  "",
  "| Name | Meaning |",
  "|------|---------|",
  "| `ls` | list the files |",
  "| emoji 🎉 | right-to-left שלום עולם and مرحبا |",
  "",
  "<div align=\"center\">raw <b>html</b> block</div>",
  "",
  "Inline <kbd>Ctrl</kbd> key, autolink <https://example.org/a_(b)> and www.example.com/path.",
  "",
  "    indented code block",
  "    second line",
  "",
  "Hard break at end  ",
  "next line.",
  "",
].join("\n");

describe("segmentMarkdown", () => {
  it("reassembles byte-exact and changes nothing outside prose", () => {
    const pieces = segmentMarkdown({ text: TRICKY }).pieces;
    expect(pieces.map((piece) => (typeof piece === "string" ? piece : piece.source)).join("")).toBe(TRICKY);
    const shouted = shout(TRICKY);
    // Code blocks, inline code, URLs, LaTeX and HTML come through unchanged.
    for (const kept of [
      "```python\ndef count_words(text):\n    return len(text.split())   \n```",
      "tilde fence with trailing spaces   \n~~~",
      "``inline `backtick` code``",
      "   ```js\n   const answer = 42; // do not translate\n   ```",
      "$E = mc^2$",
      "$$\n\\int_0^1 x^2 \\, dx\n$$",
      "(https://example.com/wiki/Foo_(bar) \"title\")",
      "<div align=\"center\">raw <b>html</b> block</div>",
      "<kbd>CTRL</kbd>",
      "<https://example.org/a_(b)>",
      "www.example.com/path",
      "    indented code block\n    second line",
      "| `ls` |",
      "\n> two lines",
      "end  \nnext",
    ]) {
      expect(shouted).toContain(kept.includes("end  \nnext") ? "END  \nNEXT" : kept.includes("> two") ? "\n> TWO LINES" : kept);
    }
    expect(shouted).toContain("# HEADING WITH `code`");
    expect(shouted).toContain("**BOLD**");
    expect(shouted).toContain("RIGHT-TO-LEFT שלום עולם AND مرحبا");
    expect(shouted).toContain("EMOJI 🎉");
  });

  it("never puts code-block content into a segment", () => {
    const prose = segmentsOf(TRICKY).map((segment) => proseText(segment)).join("\n");
    expect(prose).not.toContain("count_words");
    expect(prose).not.toContain("const answer");
    expect(prose).not.toContain("indented code block");
    expect(prose).not.toContain("backtick");
    expect(prose).not.toContain("example.com");
    expect(prose).not.toContain("mc^2");
  });

  it("protects template fields given as protect patterns", () => {
    const [segment] = segmentsOf("[Question]\n{question}\n\n[The Start of Answer]\n{answer}", { protectPatterns: [/\{[a-z_]+\}/g] });
    expect(segment).toBeDefined();
    expect(segmentsOf("Rate {answer} now", { protectPatterns: [/\{[a-z_]+\}/g] }).map(neutralText)).toEqual(["Rate \uE0000\uE001 now"]);
  });

  it("splits over-long paragraphs at sentence boundaries", () => {
    const sentence = "This sentence is about forty characters. ";
    const paragraph = sentence.repeat(20).trim();
    const segments = segmentsOf(paragraph, { maxSegmentCharacters: 200 });
    expect(segments.length).toBeGreaterThan(3);
    for (const segment of segments) {
      expect(proseText(segment).length).toBeLessThanOrEqual(200);
      expect(proseText(segment).endsWith(".")).toBe(true);
    }
    const joined = segmentMarkdown({ text: paragraph, maxSegmentCharacters: 200 })
      .pieces.map((piece) => (typeof piece === "string" ? piece : piece.source))
      .join("");
    expect(joined).toBe(paragraph);
  });

  it("skips prose without letters and keeps whitespace outside segments", () => {
    expect(segmentsOf("1234\n\n---\n\n  ")).toEqual([]);
    const [segment] = segmentsOf("- item  text  ");
    expect(segment?.source).toBe("item  text");
  });
});
