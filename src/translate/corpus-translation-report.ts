import type { CanonicalRecord } from "../record/canonical-record";
import type { ReviewRow } from "./review-csv";
import type { TranslationReport } from "./translate-documents";

/** Where a translated document came from: the record and the message (turn) within it. */
export interface DocumentOwner {
  readonly record: number;
  readonly turn: number;
}

/** A corpus as `translateCorpus` sends it: its records, one document per message, and the way back. */
export interface CorpusDocuments {
  readonly records: readonly CanonicalRecord[];
  /** One document per message; the same array object throughout, since a segmentation is tied to it. */
  readonly documents: string[];
  readonly owners: readonly DocumentOwner[];
}

/** One language's outcome (the full issue list is in translation-report.json). */
export type LanguageSummary = Omit<TranslationReport, "issues"> & { issueCounts: Record<string, number> };

/** A human correction of one segment (see `readCorrections`). */
export interface SegmentCorrection {
  readonly to: string;
  readonly source: string;
  readonly translation: string;
}

/** Each language's report without its issue list, with the number of issues of each kind instead. */
export function summariseLanguages(reports: readonly TranslationReport[]): Record<string, LanguageSummary> {
  const languages: Record<string, LanguageSummary> = {};
  for (const report of reports) {
    const { issues, ...rest } = report;
    const issueCounts: Record<string, number> = {};
    for (const issue of issues) issueCounts[issue.kind] = (issueCounts[issue.kind] ?? 0) + 1;
    languages[report.to] = { ...rest, issueCounts };
  }
  return languages;
}

/**
 * The rows of `review.csv`: each flagged segment once per language (all its issue kinds together),
 * plus every corrected segment, so the curation loop stays visible.
 */
export function buildReviewRows(options: {
  corpus: CorpusDocuments;
  reports: readonly TranslationReport[];
  corrections: readonly SegmentCorrection[];
  to: readonly string[];
}): ReviewRow[] {
  const { corpus, reports } = options;
  const correctedSources = new Map<string, string>();
  for (const correction of options.corrections) correctedSources.set(`${correction.to}\u0000${correction.source}`, correction.translation);
  const byKey = new Map<string, ReviewRow & { issueList: string[] }>();
  for (const report of reports) {
    for (const issue of report.issues) {
      const owner = corpus.owners[issue.document]!;
      const key = `${report.to}\u0000${issue.source}`;
      const existing = byKey.get(key);
      if (existing) existing.issueList.push(issue.kind);
      else
        byKey.set(key, {
          id: corpus.records[owner.record]!.id,
          lang: report.to,
          turn: owner.turn,
          segment: issue.segment,
          issues: "",
          source: issue.source,
          translation: issue.translation,
          correction: correctedSources.get(key) ?? "",
          issueList: [issue.kind],
        });
    }
  }
  for (const [key, translation] of correctedSources) {
    if (byKey.has(key)) continue;
    const [lang, sourceText] = key.split("\u0000") as [string, string];
    if (!options.to.includes(lang)) continue;
    byKey.set(key, { id: "", lang, turn: 0, segment: 0, issues: "", source: sourceText, translation, correction: translation, issueList: [] });
  }
  return [...byKey.values()].map(({ issueList, ...rest }) => ({ ...rest, issues: [...new Set(issueList)].join(";") }));
}

/** The content of `translation-report.json`: per language, its summary and every issue located by record id and turn. */
export function buildCorpusTranslationReport(options: {
  input: string;
  from: string;
  to: readonly string[];
  corpus: CorpusDocuments;
  reports: readonly TranslationReport[];
}): Record<string, unknown> {
  const { corpus, reports } = options;
  const languages = summariseLanguages(reports);
  return {
    input: options.input,
    from: options.from,
    to: options.to,
    records: corpus.records.length,
    languages: Object.fromEntries(
      reports.map((report) => [
        report.to,
        {
          ...languages[report.to],
          issues: report.issues.map((issue) => {
            const owner = corpus.owners[issue.document]!;
            return {
              id: corpus.records[owner.record]!.id,
              turn: owner.turn,
              segment: issue.segment,
              kind: issue.kind,
              ...(issue.detail ? { detail: issue.detail } : {}),
              source: issue.source,
              translation: issue.translation,
            };
          }),
        },
      ]),
    ),
  };
}
