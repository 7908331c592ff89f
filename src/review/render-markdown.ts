import MarkdownIt from "markdown-it";
import { createRequire } from "node:module";
import type { Segment } from "../translate/segment";

/** The part of highlight.js used here. */
interface Highlighter {
  getLanguage(name: string): unknown;
  highlight(code: string, options: { language: string; ignoreIllegals: boolean }): { value: string };
  highlightAuto(code: string): { value: string };
}

// Loaded untyped: highlight.js's own types pull the DOM library into the whole project's typecheck.
const hljs = createRequire(import.meta.url)("highlight.js") as Highlighter;

// Raw HTML in the data is shown as text (html: false) and links cannot run script (markdown-it
// validates link schemes): the data is untrusted, the page holds the session's token.
const markdown = new MarkdownIt({
  html: false,
  linkify: false,
  highlight(code, language) {
    try {
      const highlighted = language && hljs.getLanguage(language) ? hljs.highlight(code, { language, ignoreIllegals: true }) : hljs.highlightAuto(code);
      return `<pre class="hljs"><code>${highlighted.value}</code></pre>`;
    } catch {
      return "";
    }
  },
});

/** Markdown to HTML with fenced code highlighted; inline code, code blocks and math keep their classes so the page marks them as protected. */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

/** Escapes text for an HTML text node or attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** A source segment as HTML, its protected spans (code, URLs, LaTeX, HTML) in `<mark class="protected">`. */
export function renderSegmentSource(segment: Segment): string {
  return segment.parts
    .map((part) => (part.kind === "protected" && !("lineBreak" in part && part.lineBreak) ? `<mark class="protected" title="kept as is">${escapeHtml(part.text)}</mark>` : escapeHtml(part.text)))
    .join("");
}
