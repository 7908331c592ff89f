import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InputError, UsageError } from "../errors";
import { readJsonl } from "../io/jsonl";
import { pathExists } from "../io/path-exists";
import { benchLanguageDirectory, listBenchLanguages, readQuestions, splitQuestionId } from "../eval/mt-bench-files";
import { checkTranslationQuality, loadLanguageDetector } from "../translate/quality-check";
import { segmentMarkdown } from "../translate/segment-markdown";
import { alignSegments } from "./align-segments";
import { renderMarkdown, renderSegmentSource, escapeHtml } from "./render-markdown";
import type { ReviewStore, StoredCorrection } from "./review-store";

/** A quality flag of one item in one language (from translation-report.json, or checked on load for MT-Bench-X). */
export interface ReviewFlag {
  readonly kind: string;
  readonly turn: number;
  readonly segment?: number;
  readonly detail?: string;
}

interface Message {
  readonly role: string;
  readonly content: string;
}

/** What the reviewer edits: one segment of a message (corpus) or one turn of a question (MT-Bench-X). */
export interface ReviewUnit {
  /** Storage key: the source segment (a correction applies wherever it occurs) or `81_DE#0`. */
  readonly unit: string;
  readonly turn: number;
  readonly segment: number;
  readonly sourceHtml: string;
  /** The machine translation, or null where it cannot be told apart from its neighbours. */
  readonly machine: string | null;
  /** The correction, if any. */
  readonly correction: string | null;
  readonly flags: readonly ReviewFlag[];
}

/** One item (conversation or question) in one language, as the page shows it. */
export interface TranslationItemView {
  readonly id: string;
  readonly lang: string;
  readonly position: number;
  readonly total: number;
  readonly status: { status: string; note: string } | null;
  readonly flags: readonly ReviewFlag[];
  readonly source: readonly { role: string; html: string }[];
  readonly translation: readonly { role: string; html: string }[];
  readonly units: readonly ReviewUnit[];
}

/** The loaded material of a translation review: a translated corpus or an MT-Bench-X tree. */
export interface TranslationReviewSource {
  readonly kind: "corpus" | "bench";
  readonly from: string;
  readonly languages: readonly string[];
  readonly ids: readonly string[];
  readonly flagKinds: readonly string[];
  source(id: string): readonly Message[];
  translation(lang: string, id: string): readonly Message[] | undefined;
  flags(lang: string, id: string): readonly ReviewFlag[];
  /** The unit's key in the store for an MT-Bench-X turn; for the corpus, the segment's source. */
  readonly unitOfTurn?: (lang: string, id: string, turn: number) => string;
}

const reportSchema = z.looseObject({
  from: z.string().min(2),
  to: z.array(z.string().min(2)).min(1),
  languages: z.record(
    z.string(),
    z.looseObject({
      issues: z
        .array(z.looseObject({ id: z.string(), turn: z.number().int(), segment: z.number().int(), kind: z.string(), detail: z.string().optional() }))
        .default([]),
    }),
  ),
});

const corpusRowSchema = z.looseObject({ id: z.string().min(1), messages: z.array(z.looseObject({ role: z.string(), content: z.string() })).min(1) });

async function readCorpusFile(path: string): Promise<Map<string, Message[]>> {
  const rows = new Map<string, Message[]>();
  for await (const { value, line } of readJsonl(path)) {
    const parsed = corpusRowSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(issue?.message ?? "invalid record", { file: path, line, field: issue?.path.join(".") });
    }
    rows.set(parsed.data.id, parsed.data.messages.map((message) => ({ role: message.role, content: message.content })));
  }
  return rows;
}

/**
 * Loads the output of `translate` (`<from>.jsonl`, `<lang>.jsonl`, `translation-report.json`):
 * the report names the languages and holds the quality flags.
 */
export async function loadCorpusReview(options: { corpus: string; languages?: readonly string[] }): Promise<TranslationReviewSource> {
  const reportPath = join(options.corpus, "translation-report.json");
  if (!(await pathExists(reportPath))) throw new UsageError(`${reportPath} not found: --corpus must be an output directory of "build-datasets translate"`);
  let report: z.infer<typeof reportSchema>;
  try {
    report = reportSchema.parse(JSON.parse(await readFile(reportPath, "utf8")));
  } catch (error) {
    throw new InputError(`not a translation report (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`, { file: reportPath, cause: error });
  }
  const languages = options.languages?.length ? options.languages.map((lang) => lang.toLowerCase()) : report.to;
  for (const lang of languages) if (!report.to.includes(lang)) throw new UsageError(`--lang ${lang}: the corpus has ${report.to.join(", ")}`);
  const source = await readCorpusFile(join(options.corpus, `${report.from}.jsonl`));
  const translations = new Map<string, Map<string, Message[]>>();
  const flags = new Map<string, ReviewFlag[]>();
  const kinds = new Set<string>();
  for (const lang of languages) {
    translations.set(lang, await readCorpusFile(join(options.corpus, `${lang}.jsonl`)));
    for (const issue of report.languages[lang]?.issues ?? []) {
      kinds.add(issue.kind);
      const key = `${lang}\u0000${issue.id}`;
      flags.set(key, [...(flags.get(key) ?? []), { kind: issue.kind, turn: issue.turn, segment: issue.segment, ...(issue.detail ? { detail: issue.detail } : {}) }]);
    }
  }
  return {
    kind: "corpus",
    from: report.from,
    languages,
    ids: [...source.keys()],
    flagKinds: [...kinds].sort(),
    source: (id) => source.get(id) ?? [],
    translation: (lang, id) => translations.get(lang)?.get(id),
    flags: (lang, id) => flags.get(`${lang}\u0000${id}`) ?? [],
  };
}

/**
 * Loads an MT-Bench-X tree (`mt_bench_EN/question.jsonl` and `mt_bench_<LANG>/question.jsonl`): each
 * question's turns are the units, flagged by the translation quality checks.
 */
export async function loadBenchReview(options: { bench: string; languages?: readonly string[] }): Promise<TranslationReviewSource> {
  const available = (await listBenchLanguages(options.bench)).filter((lang) => lang !== "EN");
  if (!(await pathExists(join(benchLanguageDirectory(options.bench, "EN"), "question.jsonl")))) {
    throw new UsageError(`${join(benchLanguageDirectory(options.bench, "EN"), "question.jsonl")} not found: --bench must be an MT-Bench-X tree`);
  }
  const languages = options.languages?.length ? options.languages.map((lang) => lang.toUpperCase()) : available;
  for (const lang of languages) if (!available.includes(lang)) throw new UsageError(`--lang ${lang}: the bench has ${available.join(", ") || "no translations"}`);
  const english = await readQuestions(join(benchLanguageDirectory(options.bench, "EN"), "question.jsonl"));
  const numberOf = (id: string | number): string => String(splitQuestionId(id).number ?? id);
  const source = new Map(english.map((question) => [numberOf(question.question_id), question.turns.map((content) => ({ role: "user", content }))]));
  const translations = new Map<string, Map<string, Message[]>>();
  const flags = new Map<string, ReviewFlag[]>();
  const kinds = new Set<string>();
  const detectLanguage = await loadLanguageDetector();
  for (const lang of languages) {
    const questions = await readQuestions(join(benchLanguageDirectory(options.bench, lang), "question.jsonl"));
    const byId = new Map<string, Message[]>();
    for (const question of questions) {
      const id = numberOf(question.question_id);
      byId.set(id, question.turns.map((content) => ({ role: "user", content })));
      const sourceTurns = source.get(id) ?? [];
      question.turns.forEach((turn, index) => {
        for (const found of checkTranslationQuality({ sourceProse: sourceTurns[index]?.content ?? "", translationProse: turn, from: "en", to: lang.toLowerCase(), detectLanguage })) {
          kinds.add(found.kind);
          const key = `${lang}\u0000${id}`;
          flags.set(key, [...(flags.get(key) ?? []), { kind: found.kind, turn: index, ...(found.detail ? { detail: found.detail } : {}) }]);
        }
      });
    }
    translations.set(lang, byId);
  }
  return {
    kind: "bench",
    from: "en",
    languages,
    ids: [...source.keys()],
    flagKinds: [...kinds].sort(),
    source: (id) => source.get(id) ?? [],
    translation: (lang, id) => translations.get(lang)?.get(id),
    flags: (lang, id) => flags.get(`${lang}\u0000${id}`) ?? [],
    unitOfTurn: (lang, id, turn) => `${id}_${lang}#${turn}`,
  };
}

/** The units of one item in one language, with the store's corrections. */
export function listUnits(review: TranslationReviewSource, corrections: ReadonlyMap<string, StoredCorrection>, lang: string, id: string): ReviewUnit[] {
  const translated = review.translation(lang, id) ?? [];
  const flags = review.flags(lang, id);
  const units: ReviewUnit[] = [];
  review.source(id).forEach((message, turn) => {
    const translation = translated[turn]?.content ?? "";
    if (review.unitOfTurn) {
      const unit = review.unitOfTurn(lang, id, turn);
      units.push({
        unit,
        turn,
        segment: 0,
        sourceHtml: escapeHtml(message.content),
        machine: translation,
        correction: corrections.get(`${lang}\u0000${unit}`)?.translation ?? null,
        flags: flags.filter((flag) => flag.turn === turn),
      });
      return;
    }
    const document = segmentMarkdown({ text: message.content, language: review.from });
    const segments = document.pieces.filter((piece) => typeof piece !== "string");
    alignSegments(document, translation).forEach((aligned, index) => {
      units.push({
        unit: aligned.source,
        turn,
        segment: index,
        sourceHtml: renderSegmentSource(segments[index]!),
        machine: aligned.translation,
        correction: corrections.get(`${lang}\u0000${aligned.source}`)?.translation ?? null,
        flags: flags.filter((flag) => flag.turn === turn && flag.segment === index),
      });
    });
  });
  return units;
}

/** The translated messages with the corrections put in place (where the segment could be aligned). */
export function applyUnits(review: TranslationReviewSource, lang: string, id: string, units: readonly ReviewUnit[]): Message[] {
  const translated = review.translation(lang, id) ?? [];
  return translated.map((message, turn) => {
    const own = units.filter((unit) => unit.turn === turn);
    if (review.unitOfTurn) return { role: message.role, content: own[0]?.correction ?? message.content };
    const document = segmentMarkdown({ text: review.source(id)[turn]?.content ?? "", language: review.from });
    const aligned = alignSegments(document, message.content);
    let content = message.content;
    // Right to left, so earlier offsets stay valid.
    for (const segment of [...aligned].reverse()) {
      const correction = own.find((unit) => unit.segment === segment.index)?.correction;
      if (correction != null && segment.translation !== null) content = content.slice(0, segment.start) + correction + content.slice(segment.end);
    }
    return { role: message.role, content };
  });
}

/** Everything the page shows of one item in one language. */
export function viewTranslationItem(review: TranslationReviewSource, store: ReviewStore, lang: string, id: string): TranslationItemView {
  const corrections = new Map(store.listCorrections().map((correction) => [`${correction.lang}\u0000${correction.unit}`, correction]));
  const status = store.listItemStatuses().find((row) => row.itemId === id && row.lang === lang);
  const units = listUnits(review, corrections, lang, id);
  return {
    id,
    lang,
    position: review.ids.indexOf(id),
    total: review.ids.length,
    status: status ? { status: status.status, note: status.note } : null,
    flags: review.flags(lang, id),
    source: review.source(id).map((message) => ({ role: message.role, html: renderMarkdown(message.content) })),
    translation: applyUnits(review, lang, id, units).map((message) => ({ role: message.role, html: renderMarkdown(message.content) })),
    units,
  };
}
