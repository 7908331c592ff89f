import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { mathFromMarkdown } from "mdast-util-math";
import { gfm } from "micromark-extension-gfm";
import { math } from "micromark-extension-math";
import type { Nodes, Parents } from "mdast";
import type { Segment, SegmentPart } from "./segment";

/** Options of {@link segmentMarkdown}. */
export interface SegmentMarkdownOptions {
  /** The markdown document. */
  readonly text: string;
  /** Extra spans inside prose to keep untranslated, e.g. `/\{[a-z_]+\}/g` for template placeholders. */
  readonly protectPatterns?: readonly RegExp[];
  /** Runs with more prose than this (code points) are split at sentence boundaries. */
  readonly maxSegmentCharacters?: number;
  /** BCP 47 language of the text, for sentence boundaries. */
  readonly language?: string;
}

/** A document cut into verbatim text and translatable segments; joining all pieces gives the text back. */
export interface SegmentedDocument {
  readonly pieces: readonly (string | Segment)[];
}

interface Span {
  kind: "text" | "protected";
  start: number;
  end: number;
  /** A soft line break (with its continuation prefix) inside a paragraph. */
  lineBreak?: boolean;
}

/** Nodes whose children are phrasing content: the places where prose lives. */
const PHRASING_CONTAINERS = new Set(["paragraph", "heading", "tableCell"]);
/** Inline nodes whose children are prose; their own markers are protected. */
const PROSE_WRAPPERS = new Set(["emphasis", "strong", "delete", "link", "linkReference"]);

const DEFAULT_MAX_SEGMENT_CHARACTERS = 3000;

// Built once: creating the syntax extensions costs more than parsing a typical message.
const PARSE_OPTIONS = {
  extensions: [gfm(), math()],
  mdastExtensions: [gfmFromMarkdown(), mathFromMarkdown()],
};

/**
 * Cuts a markdown document into verbatim text (code blocks, HTML blocks, list markers, table pipes,
 * blank lines ...) and prose segments, using the parser's node offsets on the ORIGINAL text so that
 * everything that is not prose is reproduced byte for byte.
 */
export function segmentMarkdown(options: SegmentMarkdownOptions): SegmentedDocument {
  const { text } = options;
  const maxCharacters = options.maxSegmentCharacters ?? DEFAULT_MAX_SEGMENT_CHARACTERS;
  const tree = fromMarkdown(text, PARSE_OPTIONS);
  const runs: Span[][] = [];
  collectRuns(tree, text, options.protectPatterns ?? [], runs);

  const pieces: (string | Segment)[] = [];
  let cursor = 0;
  const pushVerbatim = (end: number): void => {
    if (end > cursor) pieces.push(text.slice(cursor, end));
    cursor = Math.max(cursor, end);
  };
  for (const run of runs) {
    for (const part of splitLongRun(run, text, maxCharacters, options.language)) {
      const trimmed = trimRun(part, text);
      if (trimmed.length === 0) continue;
      const prose = trimmed.filter((span) => span.kind === "text").map((span) => text.slice(span.start, span.end)).join("");
      if (!/[\p{L}]/u.test(prose)) continue;
      const first = trimmed[0]!;
      const last = trimmed[trimmed.length - 1]!;
      pushVerbatim(first.start);
      pieces.push({
        source: text.slice(first.start, last.end),
        parts: trimmed.map((span): SegmentPart =>
          span.kind === "protected" && span.lineBreak
            ? { kind: "protected", text: text.slice(span.start, span.end), lineBreak: true }
            : { kind: span.kind, text: text.slice(span.start, span.end) },
        ),
      });
      cursor = last.end;
    }
  }
  pushVerbatim(text.length);
  return { pieces: mergeVerbatim(pieces) };
}

function mergeVerbatim(pieces: (string | Segment)[]): (string | Segment)[] {
  const merged: (string | Segment)[] = [];
  for (const piece of pieces) {
    const previous = merged[merged.length - 1];
    if (typeof piece === "string" && typeof previous === "string") merged[merged.length - 1] = previous + piece;
    else merged.push(piece);
  }
  return merged;
}

function offsets(node: Nodes): { start: number; end: number } | undefined {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  return start === undefined || end === undefined ? undefined : { start, end };
}

function collectRuns(node: Nodes, text: string, patterns: readonly RegExp[], runs: Span[][]): void {
  if (PHRASING_CONTAINERS.has(node.type)) {
    const prose: Span[] = [];
    collectProse(node, text, patterns, prose);
    if (prose.length === 0) return;
    // The run covers all phrasing content, so inline code or emphasis markers at either end stay in
    // the segment (the translator sees them as placeholders) rather than being cut off.
    const children = (node as Parents).children;
    const first = children.length > 0 ? offsets(children[0] as Nodes) : undefined;
    const last = children.length > 0 ? offsets(children[children.length - 1] as Nodes) : undefined;
    const bounds: Span[] = [];
    if (first && first.start < prose[0]!.start) bounds.push({ kind: "protected", start: first.start, end: first.start });
    const withBounds = [...bounds, ...prose];
    if (last && last.end > prose[prose.length - 1]!.end) withBounds.push({ kind: "protected", start: last.end, end: last.end });
    runs.push(fillGaps(withBounds));
    return;
  }
  if ("children" in node) {
    for (const child of (node as Parents).children) collectRuns(child as Nodes, text, patterns, runs);
  }
}

/** Collects the source intervals of prose (text nodes) inside a phrasing container. */
function collectProse(node: Nodes, text: string, patterns: readonly RegExp[], out: Span[]): void {
  if (node.type === "text") {
    const range = offsets(node);
    if (range) out.push(...cutTextNode(range.start, range.end, text, patterns));
    return;
  }
  if (node.type === "link") {
    const range = offsets(node);
    // Autolinks (`<https://…>`, bare `www.…`) have the URL as their text: protect them whole.
    if (!range || text[range.start] !== "[") return;
  }
  if (node.type === "linkReference" || node.type === "link" || PROSE_WRAPPERS.has(node.type) || PHRASING_CONTAINERS.has(node.type)) {
    for (const child of (node as Parents).children) collectProse(child as Nodes, text, patterns, out);
  }
  // Everything else (inlineCode, inlineMath, html, image, break, footnoteReference) stays protected.
}

/**
 * A text node's source slice can contain line-continuation prefixes (indentation, `> ` of block
 * quotes) that are not part of its value; those and the line break itself are protected so the
 * structure survives. Matches of the extra protect patterns are protected too.
 */
function cutTextNode(start: number, end: number, text: string, patterns: readonly RegExp[]): Span[] {
  const protectedRanges: [number, number, boolean][] = [];
  const slice = text.slice(start, end);
  for (const match of slice.matchAll(/[ \t]*\r?\n[ \t>]*/g)) {
    const at = start + (match.index ?? 0);
    protectedRanges.push([at, at + match[0].length, true]);
  }
  for (const pattern of patterns) {
    const global = pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
    for (const match of slice.matchAll(global)) {
      if (match[0].length === 0) continue;
      const at = start + (match.index ?? 0);
      protectedRanges.push([at, at + match[0].length, false]);
    }
  }
  protectedRanges.sort((a, b) => a[0] - b[0]);
  const spans: Span[] = [];
  let cursor = start;
  for (const [from, to, lineBreak] of protectedRanges) {
    if (to <= cursor) continue;
    if (from > cursor) spans.push({ kind: "text", start: cursor, end: from });
    spans.push({ kind: "protected", start: Math.max(from, cursor), end: to, ...(lineBreak && from >= cursor ? { lineBreak: true } : {}) });
    cursor = to;
  }
  if (cursor < end) spans.push({ kind: "text", start: cursor, end });
  return spans;
}

/** Neighbours merge when of the same kind; a line break stays its own span (the translator sees it as a space). */
function mergeable(left: Span, right: Span): boolean {
  return left.kind === right.kind && left.end === right.start && !left.lineBreak && !right.lineBreak;
}

/** Turns sorted prose spans into a contiguous run: the gaps between them become protected spans. */
function fillGaps(spans: Span[]): Span[] {
  const run: Span[] = [];
  for (const span of spans) {
    const previous = run[run.length - 1];
    if (previous && span.start > previous.end) run.push({ kind: "protected", start: previous.end, end: span.start });
    const last = run[run.length - 1];
    if (last && mergeable(last, span)) last.end = span.end;
    else run.push({ ...span });
  }
  // Drop empty spans and merge neighbours of the same kind (fewer placeholders for the translator).
  const merged: Span[] = [];
  for (const span of run) {
    if (span.end <= span.start) continue;
    const last = merged[merged.length - 1];
    if (last && mergeable(last, span)) last.end = span.end;
    else merged.push(span);
  }
  return merged;
}

/** Moves leading and trailing protected spans and whitespace out of the run (they stay verbatim). */
function trimRun(run: Span[], text: string): Span[] {
  const spans = run.map((span) => ({ ...span }));
  while (spans.length > 0) {
    const first = spans[0]!;
    if (first.kind === "protected") {
      // Line breaks and container prefixes at the edges stay verbatim; markup (code, markers) stays in.
      if (/^\s*$/u.test(text.slice(first.start, first.end))) {
        spans.shift();
        continue;
      }
      break;
    }
    while (first.start < first.end && /\s/u.test(text[first.start]!)) first.start++;
    if (first.start === first.end) spans.shift();
    else break;
  }
  while (spans.length > 0) {
    const last = spans[spans.length - 1]!;
    if (last.kind === "protected") {
      if (/^\s*$/u.test(text.slice(last.start, last.end))) {
        spans.pop();
        continue;
      }
      break;
    }
    while (last.end > last.start && /\s/u.test(text[last.end - 1]!)) last.end--;
    if (last.start === last.end) spans.pop();
    else break;
  }
  return spans;
}

/** Splits a run whose prose is longer than `maxCharacters` at sentence boundaries inside prose. */
function splitLongRun(run: Span[], text: string, maxCharacters: number, language: string | undefined): Span[][] {
  const proseLength = run.reduce((sum, span) => sum + (span.kind === "text" ? span.end - span.start : 0), 0);
  if (proseLength <= maxCharacters || run.length === 0) return [run];
  const runStart = run[0]!.start;
  const runEnd = run[run.length - 1]!.end;
  const segmenter = new Intl.Segmenter(language ?? "en", { granularity: "sentence" });
  const insideProse = (offset: number): boolean =>
    run.some((span) => span.kind === "text" && offset > span.start && offset < span.end);
  const boundaries: number[] = [];
  for (const sentence of segmenter.segment(text.slice(runStart, runEnd))) {
    const offset = runStart + sentence.index;
    if (offset > runStart && insideProse(offset)) boundaries.push(offset);
  }
  // Greedy: cut at the last boundary before the prose budget is exceeded.
  const cuts: number[] = [];
  let pieceStart = runStart;
  let lastBoundary: number | undefined;
  for (const boundary of [...boundaries, runEnd]) {
    const prose = proseBetween(run, pieceStart, boundary);
    if (prose > maxCharacters && lastBoundary !== undefined && lastBoundary > pieceStart) {
      cuts.push(lastBoundary);
      pieceStart = lastBoundary;
    }
    lastBoundary = boundary;
  }
  if (cuts.length === 0) return [run];
  const pieces: Span[][] = [];
  let from = runStart;
  for (const to of [...cuts, runEnd]) {
    pieces.push(
      run
        .map((span) => ({ ...span, start: Math.max(span.start, from), end: Math.min(span.end, to) }))
        .filter((span) => span.end > span.start),
    );
    from = to;
  }
  return pieces;
}

function proseBetween(run: Span[], from: number, to: number): number {
  let total = 0;
  for (const span of run) {
    if (span.kind !== "text") continue;
    total += Math.max(0, Math.min(span.end, to) - Math.max(span.start, from));
  }
  return total;
}
