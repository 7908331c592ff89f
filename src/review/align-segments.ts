import type { SegmentedDocument } from "../translate/segment-markdown";

/** One source segment and the slice of the translated document that the engine put in its place. */
export interface AlignedSegment {
  readonly index: number;
  readonly source: string;
  /** The translated text of this segment, or null where the alignment is ambiguous. */
  readonly translation: string | null;
  /** Offsets of `translation` in the translated document (for re-assembly with corrections). */
  readonly start: number;
  readonly end: number;
}

/**
 * The engine reassembles a translation as the source's verbatim pieces (code, list markers, blank
 * lines) with translated prose between them, so a translated document splits back at those pieces.
 * A piece of spaces only (between sentence groups of a long paragraph) could split anywhere, so
 * segments next to one are reported as not aligned rather than guessed.
 */
export function alignSegments(source: SegmentedDocument, translated: string): AlignedSegment[] {
  const aligned: AlignedSegment[] = [];
  const pieces = source.pieces;
  let cursor = 0;
  let failed = false;
  let segmentIndex = 0;
  for (let index = 0; index < pieces.length; index += 1) {
    const piece = pieces[index]!;
    if (typeof piece === "string") {
      if (!failed && translated.startsWith(piece, cursor)) cursor += piece.length;
      else failed = true;
      continue;
    }
    const next = pieces[index + 1];
    const previous = pieces[index - 1];
    const ambiguous = (typeof next === "string" && next.trim() === "" && !next.includes("\n")) || (typeof previous === "string" && previous.trim() === "" && !previous.includes("\n"));
    let end: number;
    if (next === undefined) end = translated.length;
    else if (typeof next === "string") end = failed ? -1 : translated.indexOf(next, cursor);
    else end = -1; // two segments back to back cannot be told apart
    if (failed || end < 0 || ambiguous) {
      aligned.push({ index: segmentIndex, source: piece.source, translation: null, start: -1, end: -1 });
      if (end < 0) failed = true;
      else cursor = end;
    } else {
      aligned.push({ index: segmentIndex, source: piece.source, translation: translated.slice(cursor, end), start: cursor, end });
      cursor = end;
    }
    segmentIndex += 1;
  }
  return aligned;
}
