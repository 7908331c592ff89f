import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { UsageError } from "../errors";
import { pathExists } from "../io/path-exists";
import { benchLanguageDirectory, findJsonlFiles, readModelAnswers, readQuestions, splitQuestionId, type MtBenchQuestion } from "../eval/mt-bench-files";
import { computeAgreement, type Agreement } from "../eval/report/correlation";
import { computeJudgeHumanAgreement, type JudgeHumanAgreement } from "../eval/report/human-ratings";
import { loadReportJudgments } from "../eval/report/load-report-judgments";
import type { ReportJudgment } from "../eval/report/score-table";
import { createSeededRandom, shuffleWith } from "../sample/seeded-random";
import { renderMarkdown } from "./render-markdown";
import type { PairWinner, ReviewStore, StoredRating, StoredVote } from "./review-store";

/** FastChat's single-answer criteria (`single-v1`), shown to every rater. */
export const RATING_CRITERIA =
  "Evaluate the quality of the response provided by an AI assistant to the user question. Consider factors such as the " +
  "helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. Be as objective as possible. " +
  "Rate the response on a scale of 1 to 10 (10 is best).";

/** FastChat's pairwise criteria (`pair-v2`). */
export const PAIR_CRITERIA =
  "Choose the assistant that follows the user's instructions and answers the user's question better, considering " +
  "helpfulness, relevance, accuracy, depth, creativity, and level of detail. Do not let the order of the answers, " +
  "their length or the assistants' names influence you. Choose tie if they are equally good.";

/** One thing to rate: an answer (single) or two answers to compare (pair), at one turn. */
export interface RatingTask {
  /** Opaque id: it names no model. */
  readonly id: string;
  readonly kind: "single" | "pair";
  readonly questionId: string;
  readonly category: string;
  readonly turn: number;
  /** One model (single) or two in sorted order (pair). */
  readonly models: readonly string[];
}

/** What the page shows of a task: questions and answers, never a model name. */
export interface RatingTaskView {
  readonly id: string;
  readonly kind: "single" | "pair";
  readonly position: number;
  readonly total: number;
  readonly category: string;
  readonly turn: number;
  readonly questions: readonly string[];
  /** One conversation (single) or two (pair: A then B, sides drawn per rater). */
  readonly answers: readonly (readonly string[])[];
  /** The rater's score (single) or choice (pair), if given. */
  readonly given: number | "A" | "B" | "tie" | null;
  readonly criteria: string;
}

/** The loaded material of a rating session. */
export interface RatingReview {
  readonly lang: string;
  readonly seed: string;
  readonly models: readonly string[];
  readonly tasks: readonly RatingTask[];
  readonly judgments: readonly ReportJudgment[];
  task(id: string): RatingTask | undefined;
  /** The tasks in the rater's own order (shuffled by seed and rater name). */
  orderFor(rater: string): RatingTask[];
  /** Which side model `models[0]` of a pair task is on for this rater. */
  sideOf(rater: string, task: RatingTask): "A" | "B";
  view(rater: string, task: RatingTask, position: number, given: RatingTaskView["given"]): RatingTaskView;
}

async function questionFile(bench: string, lang: string): Promise<string> {
  if (bench.endsWith(".jsonl")) return bench;
  const candidates = [join(benchLanguageDirectory(bench, lang), "question.jsonl"), join(bench, "question.jsonl")];
  for (const candidate of candidates) if (await pathExists(candidate)) return candidate;
  throw new UsageError(`no question.jsonl for ${lang} under ${bench} (looked for ${candidates.join(", ")})`);
}

const numberOf = (id: string | number): string => String(splitQuestionId(id).number ?? id);

/**
 * Loads questions and FastChat answer files (`<answers>/<model>.jsonl`, or an MT-Bench-X tree's
 * `mt_bench_<LANG>/model_answer/`) and makes one task per question, model (or model pair) and turn.
 */
export async function loadRatingReview(options: {
  bench: string;
  answers: string;
  lang: string;
  seed: string;
  models?: readonly string[];
  pairwise?: boolean;
  single?: boolean;
  judgments?: string;
  questions?: readonly string[];
}): Promise<RatingReview> {
  const lang = options.lang.toUpperCase();
  const questions = await readQuestions(await questionFile(options.bench, lang));
  const byNumber = new Map<string, MtBenchQuestion>(questions.map((question) => [numberOf(question.question_id), question]));
  if (!(await stat(options.answers).catch(() => undefined))) throw new UsageError(`--answers ${options.answers} not found`);
  const files = (await findJsonlFiles(options.answers)).filter((file) => (file.lang === undefined || file.lang === lang) && !file.path.includes("reference_answer") && !file.path.includes("model_judgment"));
  const answers = new Map<string, Map<string, readonly string[]>>();
  for (const file of files) {
    for (const answer of await readModelAnswers(file.path)) {
      const model = answer.model_id || basename(file.path, ".jsonl");
      if (options.models && !options.models.includes(model)) continue;
      const number = numberOf(answer.question_id);
      if (!byNumber.has(number)) continue;
      if (!answers.has(model)) answers.set(model, new Map());
      answers.get(model)!.set(number, answer.choices[0]!.turns);
    }
  }
  const models = [...answers.keys()].sort();
  if (models.length === 0) throw new UsageError(`no answers to questions of ${lang} under ${options.answers}`);
  if (options.pairwise && models.length < 2) throw new UsageError(`pairwise rating needs answers of two models or more; found ${models.join(", ")}`);
  const selected = options.questions ? questions.filter((question) => options.questions!.includes(numberOf(question.question_id))) : questions;
  const tasks: RatingTask[] = [];
  const idOf = (parts: readonly (string | number)[]): string => createHash("sha256").update(JSON.stringify([options.seed, ...parts])).digest("hex").slice(0, 16);
  for (const question of selected) {
    const number = numberOf(question.question_id);
    const questionId = `${number}_${lang}`;
    for (let turn = 1; turn <= question.turns.length; turn += 1) {
      const answered = models.filter((model) => (answers.get(model)?.get(number)?.length ?? 0) >= turn);
      if (options.single !== false) for (const model of answered) tasks.push({ id: idOf(["single", number, model, turn]), kind: "single", questionId, category: question.category, turn, models: [model] });
      if (options.pairwise) {
        for (let left = 0; left < answered.length; left += 1)
          for (let right = left + 1; right < answered.length; right += 1)
            tasks.push({ id: idOf(["pair", number, answered[left]!, answered[right]!, turn]), kind: "pair", questionId, category: question.category, turn, models: [answered[left]!, answered[right]!] });
      }
    }
  }
  const judgments = options.judgments ? await loadReportJudgments({ judgments: options.judgments, lang }) : [];
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const sideOf = (rater: string, task: RatingTask): "A" | "B" => (createSeededRandom(options.seed, `review-pair-side:${rater}:${task.id}`)() < 0.5 ? "A" : "B");
  return {
    lang,
    seed: options.seed,
    models,
    tasks,
    judgments,
    task: (id) => byId.get(id),
    orderFor: (rater) => shuffleWith(tasks, createSeededRandom(options.seed, `review-ratings:${rater}`)),
    sideOf,
    view(rater, task, position, given) {
      const question = byNumber.get(numberOf(task.questionId))!;
      const conversation = (model: string): string[] => (answers.get(model)?.get(numberOf(task.questionId)) ?? []).slice(0, task.turn).map((text) => renderMarkdown(text));
      const sides = task.kind === "pair" && sideOf(rater, task) === "B" ? [task.models[1]!, task.models[0]!] : [...task.models];
      return {
        id: task.id,
        kind: task.kind,
        position,
        total: tasks.length,
        category: task.category,
        turn: task.turn,
        questions: question.turns.slice(0, task.turn).map((text) => renderMarkdown(text)),
        answers: sides.map(conversation),
        given,
        criteria: task.kind === "single" ? RATING_CRITERIA : PAIR_CRITERIA,
      };
    },
  };
}

/** What the rater gave for a task, as the page shows it (pair votes mapped back to the rater's sides). */
export function givenFor(review: RatingReview, store: { ratings: readonly StoredRating[]; votes: readonly StoredVote[] }, rater: string, task: RatingTask): RatingTaskView["given"] {
  if (task.kind === "single") {
    return store.ratings.find((row) => row.rater === rater && row.questionId === task.questionId && row.model === task.models[0] && row.turn === task.turn)?.score ?? null;
  }
  const vote = store.votes.find((row) => row.rater === rater && row.questionId === task.questionId && row.modelA === task.models[0] && row.modelB === task.models[1] && row.turn === task.turn);
  if (!vote) return null;
  if (vote.winner === "tie") return "tie";
  const firstSide = review.sideOf(rater, task);
  const otherSide = firstSide === "A" ? "B" : "A";
  return vote.winner === "model_a" ? firstSide : otherSide;
}

/** The stored winner for a choice of side A or B. */
export function winnerOf(review: RatingReview, rater: string, task: RatingTask, choice: "A" | "B" | "tie"): PairWinner {
  if (choice === "tie") return "tie";
  return choice === review.sideOf(rater, task) ? "model_a" : "model_b";
}

/** Agreement between two raters. */
export interface RaterAgreement extends Agreement {
  readonly raters: readonly [string, string];
  /** Mean absolute difference of their scores. */
  readonly meanAbsoluteDifference: number | null;
  /** Pair tasks both voted on, and the share where they chose the same. */
  readonly votesCompared: number;
  readonly voteAgreement: number | null;
}

/** The results page: progress, inter-rater and judge-human agreement. */
export interface RatingResults {
  readonly lang: string;
  readonly totals: { single: number; pair: number };
  readonly progress: readonly { rater: string; single: number; pair: number }[];
  readonly interRater: readonly RaterAgreement[];
  /** Null without judgments (`--judgments`). */
  readonly judgeHuman: JudgeHumanAgreement | null;
}

/** Computes the results page from the store. */
export function computeRatingResults(review: RatingReview, store: ReviewStore): RatingResults {
  const ratings = store.listRatings().filter((row) => row.lang === review.lang);
  const votes = store.listVotes().filter((row) => row.lang === review.lang);
  const raters = store.listRaters();
  const progress = raters.map((rater) => ({
    rater,
    single: ratings.filter((row) => row.rater === rater).length,
    pair: votes.filter((row) => row.rater === rater).length,
  }));
  const interRater: RaterAgreement[] = [];
  for (let left = 0; left < raters.length; left += 1) {
    for (let right = left + 1; right < raters.length; right += 1) {
      const key = (row: StoredRating): string => `${row.questionId}\u0000${row.model}\u0000${row.turn}`;
      const theirs = new Map(ratings.filter((row) => row.rater === raters[right]).map((row) => [key(row), row.score]));
      const x: number[] = [];
      const y: number[] = [];
      for (const row of ratings.filter((row) => row.rater === raters[left])) {
        const other = theirs.get(key(row));
        if (other === undefined) continue;
        x.push(row.score);
        y.push(other);
      }
      const voteKey = (row: StoredVote): string => `${row.questionId}\u0000${row.modelA}\u0000${row.modelB}\u0000${row.turn}`;
      const theirVotes = new Map(votes.filter((row) => row.rater === raters[right]).map((row) => [voteKey(row), row.winner]));
      let compared = 0;
      let same = 0;
      for (const row of votes.filter((row) => row.rater === raters[left])) {
        const other = theirVotes.get(voteKey(row));
        if (other === undefined) continue;
        compared += 1;
        if (other === row.winner) same += 1;
      }
      interRater.push({
        raters: [raters[left]!, raters[right]!],
        ...computeAgreement(x, y),
        meanAbsoluteDifference: x.length ? x.reduce((sum, value, index) => sum + Math.abs(value - y[index]!), 0) / x.length : null,
        votesCompared: compared,
        voteAgreement: compared ? same / compared : null,
      });
    }
  }
  const judgeHuman =
    review.judgments.length > 0
      ? computeJudgeHumanAgreement({
          judgments: review.judgments,
          humanRatings: ratings.map((row) => ({ question_id: row.questionId, model: row.model, turn: row.turn, score: row.score, lang: row.lang })),
        })
      : null;
  return {
    lang: review.lang,
    totals: { single: review.tasks.filter((task) => task.kind === "single").length, pair: review.tasks.filter((task) => task.kind === "pair").length },
    progress,
    interRater,
    judgeHuman,
  };
}
