/**
 * A segment is the unit of translation: one run of prose (a paragraph, heading or table cell, or a
 * sentence group of a long paragraph) cut from the ORIGINAL text, with the spans that must not be
 * translated (inline code, link targets, LaTeX, HTML, emphasis markers, line prefixes) kept aside.
 */
export type SegmentPart =
  | { readonly kind: "text"; readonly text: string }
  /** `lineBreak`: a soft line break with its continuation prefix, sent as a placeholder between spaces. */
  | { readonly kind: "protected"; readonly text: string; readonly lineBreak?: boolean };

export interface Segment {
  /** The exact source slice this segment replaces. */
  readonly source: string;
  readonly parts: readonly SegmentPart[];
}

/**
 * Protected spans travel as numbered placeholders. Inside the engine and in the cache a placeholder
 * is written with two private-use code points (`\uE000` n `\uE001`) that real text does not contain,
 * so each provider can map them to its own markup (XML tags, HTML spans, `⟦n⟧`).
 */
const PLACEHOLDER_OPEN = "\uE000";
const PLACEHOLDER_CLOSE = "\uE001";
const PLACEHOLDER_PATTERN = /\uE000(\d+)\uE001/g;

/** The neutral placeholder token for protected span `index`. */
export function placeholderToken(index: number): string {
  return `${PLACEHOLDER_OPEN}${index}${PLACEHOLDER_CLOSE}`;
}

/** A piece of neutral text: prose, or the index of a protected span. */
export type NeutralPiece = string | { readonly placeholder: number };

/** The neutral text of a segment: prose with numbered placeholders; this is what is cached and sent. */
export function neutralText(segment: Segment): string {
  let index = 0;
  // A line break separates words: the translator must see a space there, not a glued placeholder.
  return segment.parts
    .map((part) => (part.kind === "text" ? part.text : part.lineBreak ? ` ${placeholderToken(index++)} ` : placeholderToken(index++)))
    .join("");
}

/** Number of protected spans (placeholders) in a segment. */
export function countPlaceholders(segment: Segment): number {
  return segment.parts.filter((part) => part.kind === "protected").length;
}

/** Splits neutral text into prose strings and placeholder references. */
export function parseNeutralText(text: string): NeutralPiece[] {
  const pieces: NeutralPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER_PATTERN)) {
    const start = match.index ?? 0;
    if (start > last) pieces.push(text.slice(last, start));
    pieces.push({ placeholder: Number(match[1]) });
    last = start + match[0].length;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces;
}

/** True when every placeholder 0..count-1 occurs exactly once and no other placeholder occurs. */
export function placeholdersIntact(translation: string, count: number): boolean {
  const seen = new Array<number>(count).fill(0);
  for (const match of translation.matchAll(PLACEHOLDER_PATTERN)) {
    const index = Number(match[1]);
    if (!(index < count)) return false;
    seen[index] = (seen[index] ?? 0) + 1;
  }
  if (translation.includes(PLACEHOLDER_OPEN) && translation.replace(PLACEHOLDER_PATTERN, "").includes(PLACEHOLDER_OPEN)) {
    return false;
  }
  return seen.every((times) => times === 1);
}

/** Replaces the placeholders of a (validated) neutral translation with the segment's protected spans. */
export function restoreProtected(translation: string, segment: Segment): string {
  const protectedParts = segment.parts.filter((part) => part.kind === "protected");
  // Spaces the translator kept around a line break are dropped: the break brings its own whitespace.
  return translation.replace(/[ \t]*\uE000(\d+)\uE001[ \t]*/g, (match, digits: string) => {
    const part = protectedParts[Number(digits)];
    if (!part) return match;
    if (part.lineBreak) return part.text;
    const token = placeholderToken(Number(digits));
    const at = match.indexOf(token);
    return match.slice(0, at) + part.text + match.slice(at + token.length);
  });
}

/** The prose of a segment (what a service bills), without protected spans. */
export function proseText(segment: Segment): string {
  return segment.parts
    .filter((part) => part.kind === "text")
    .map((part) => part.text)
    .join("");
}

/** Prose of a neutral text (placeholders removed). */
export function proseOfNeutral(text: string): string {
  return text.replace(PLACEHOLDER_PATTERN, "");
}
