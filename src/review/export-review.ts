import { join } from "node:path";
import { writeToString } from "fast-csv";
import { writeFileAtomic } from "../io/atomic-write";
import { writeReviewCsv, type ReviewRow } from "../translate/review-csv";
import type { ReviewStore } from "./review-store";
import type { TranslationReviewSource } from "./translation-review";

/** Files a translation review keeps up to date in its output directory. */
export const TRANSLATION_EXPORTS = {
  /** review.csv's columns, `correction` filled: `translate --apply-corrections` reads it. */
  corpus: "corrections.csv",
  /** `{question_id, turns, note}` lines: `mt-bench-x build --overrides` reads it. */
  bench: "overrides.jsonl",
  /** `{id, lang, status, note, updated_at}` lines: accepted items and those marked for localisation. */
  status: "review-status.jsonl",
} as const;

/** Files a rating session keeps up to date in its output directory. */
export const RATING_EXPORTS = {
  /** `question_id,model,turn,score,lang,rater`: `mt-bench-x report --human-ratings` reads it. */
  ratings: "human-ratings.csv",
  /** FastChat's human judgment votes (`compute_agreement.py --votefiles`). */
  votes: "human_judgments.json",
} as const;

/** Writes the corrections (corrections.csv or overrides.jsonl) and the item statuses, each atomically. */
export async function exportTranslationReview(review: TranslationReviewSource, store: ReviewStore, outDir: string): Promise<string[]> {
  const corrections = store.listCorrections().filter((row) => review.languages.includes(row.lang));
  const statuses = store.listItemStatuses().filter((row) => review.languages.includes(row.lang));
  const written: string[] = [];
  if (review.kind === "corpus") {
    const rows: ReviewRow[] = corrections.map((row) => ({
      id: row.itemId,
      lang: row.lang,
      turn: row.turn,
      segment: row.segment,
      issues: review.flags(row.lang, row.itemId).filter((flag) => flag.turn === row.turn && flag.segment === row.segment).map((flag) => flag.kind).join(";"),
      source: row.unit,
      translation: row.original,
      correction: row.translation,
    }));
    const path = join(outDir, TRANSLATION_EXPORTS.corpus);
    await writeReviewCsv(path, rows);
    written.push(path);
  } else {
    const byQuestion = new Map<string, { lang: string; id: string; turns: Map<number, string> }>();
    for (const row of corrections) {
      const key = `${row.itemId}_${row.lang}`;
      if (!byQuestion.has(key)) byQuestion.set(key, { lang: row.lang, id: row.itemId, turns: new Map() });
      byQuestion.get(key)!.turns.set(row.turn, row.translation);
    }
    const lines = [...byQuestion.entries()].map(([questionId, { lang, id, turns }]) => {
      const machine = review.translation(lang, id) ?? [];
      const status = statuses.find((row) => row.itemId === id && row.lang === lang);
      const note = status?.status === "localise" ? `localised${status.note ? `: ${status.note}` : ""}` : "human correction";
      return JSON.stringify({ question_id: questionId, turns: machine.map((message, turn) => turns.get(turn) ?? message.content), note });
    });
    const path = join(outDir, TRANSLATION_EXPORTS.bench);
    await writeFileAtomic(path, lines.map((line) => line + "\n").join(""));
    written.push(path);
  }
  const statusPath = join(outDir, TRANSLATION_EXPORTS.status);
  await writeFileAtomic(statusPath, statuses.map((row) => JSON.stringify({ id: row.itemId, lang: row.lang, status: row.status, note: row.note, updated_at: row.updatedAt }) + "\n").join(""));
  written.push(statusPath);
  return written;
}

/** Writes the ratings CSV and FastChat's vote file, each atomically. */
export async function exportRatings(store: ReviewStore, outDir: string): Promise<string[]> {
  const ratings = store.listRatings();
  const text = await writeToString(
    ratings.map((row) => [row.questionId, row.model, row.turn, row.score, row.lang, row.rater]),
    { headers: ["question_id", "model", "turn", "score", "lang", "rater"], writeHeaders: true, alwaysWriteHeaders: true },
  );
  const ratingsPath = join(outDir, RATING_EXPORTS.ratings);
  await writeFileAtomic(ratingsPath, text + "\n");
  const votes = store.listVotes().map((row) => ({
    question_id: row.questionId,
    model_a: row.modelA,
    model_b: row.modelB,
    winner: row.winner,
    // FastChat's compute_agreement.py counts judges named "expert_*" as human.
    judge: `expert_${row.rater}`,
    turn: row.turn,
    lang: row.lang,
    tstamp: Date.parse(row.updatedAt) / 1000,
  }));
  const votesPath = join(outDir, RATING_EXPORTS.votes);
  await writeFileAtomic(votesPath, JSON.stringify(votes, null, 2) + "\n");
  return [ratingsPath, votesPath];
}
