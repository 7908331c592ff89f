import { countCodePoints } from "../text/count-code-points";

/** The kinds of problems the quality report lists. */
export type QualityIssueKind =
  | "placeholders-repaired"
  | "placeholders-lost"
  | "untranslated"
  | "empty"
  | "length-ratio"
  | "wrong-language";

/** One problem found in one translated segment. */
export interface QualityIssue {
  readonly kind: QualityIssueKind;
  /** Index of the document (in the input order) where the segment first occurs. */
  readonly document: number;
  /** Index of the segment within that document. */
  readonly segment: number;
  /** The source segment as it appears in the document. */
  readonly source: string;
  /** The translated segment as written to the output. */
  readonly translation: string;
  /** Human-readable detail (ratio, detected language ...). */
  readonly detail?: string;
}

/** Thresholds of the quality checks. */
export interface QualityThresholds {
  /** Length ratios (translation / source prose) outside this range are outliers (default 0.5 to 2.2). */
  readonly lengthRatio?: readonly [number, number];
  /** Shortest prose (code points) for the length-ratio check (default 20). */
  readonly minCharactersForRatio?: number;
  /** Shortest prose (code points) for language identification (default 60). */
  readonly minCharactersForLanguage?: number;
}

/** Characters of a translation given to language identification. */
const LANGUAGE_SAMPLE = 100;

/** Returns an ISO 639-1 code for a text, or "" when unsure. */
export type DetectLanguage = (text: string) => string;

/** Loads the language identifier (tinyld) on first use: it is only needed once translations exist. */
export async function loadLanguageDetector(): Promise<DetectLanguage> {
  const tinyld = (await import("tinyld")) as typeof import("tinyld") & { default?: typeof import("tinyld") };
  const detect = tinyld.detect ?? tinyld.default!.detect;
  return (text) => detect(text);
}

/**
 * Checks one translated segment's prose (placeholders removed) and returns the problem kinds found,
 * with details. Placeholder survival is checked by the engine, which knows what was sent.
 */
export function checkTranslationQuality(options: {
  sourceProse: string;
  translationProse: string;
  from: string;
  to: string;
  thresholds?: QualityThresholds;
  /** Language identification (see {@link loadLanguageDetector}); without it the language check is skipped. */
  detectLanguage?: DetectLanguage;
}): { kind: QualityIssueKind; detail?: string }[] {
  const { sourceProse, translationProse, from, to } = options;
  const thresholds = options.thresholds ?? {};
  const issues: { kind: QualityIssueKind; detail?: string }[] = [];
  const sourceLength = countCodePoints(sourceProse.trim());
  const translationLength = countCodePoints(translationProse.trim());
  if (translationLength === 0) {
    issues.push({ kind: "empty" });
    return issues;
  }
  const words = sourceProse.match(/\p{L}+/gu) ?? [];
  if (from !== to && translationProse.trim() === sourceProse.trim() && words.length >= 3) {
    issues.push({ kind: "untranslated" });
    return issues;
  }
  const [low, high] = thresholds.lengthRatio ?? [0.5, 2.2];
  if (sourceLength >= (thresholds.minCharactersForRatio ?? 20)) {
    const ratio = translationLength / sourceLength;
    if (ratio < low || ratio > high) issues.push({ kind: "length-ratio", detail: `ratio ${ratio.toFixed(2)}` });
  }
  if (options.detectLanguage && translationLength >= (thresholds.minCharactersForLanguage ?? 60)) {
    // A prefix is enough to identify a language, and identification is the costliest check.
    const sample = translationProse.length > LANGUAGE_SAMPLE ? translationProse.slice(0, translationProse.lastIndexOf(" ", LANGUAGE_SAMPLE) + 1 || LANGUAGE_SAMPLE) : translationProse;
    const detected = options.detectLanguage(sample);
    if (detected !== "" && detected !== to) issues.push({ kind: "wrong-language", detail: `detected ${detected}` });
  }
  return issues;
}
