import { basename } from "node:path";
import { findJsonlFiles, readPairJudgmentsWithLines, splitQuestionId } from "../mt-bench-files";
import { cohenKappa, fleissKappa } from "./agreement";
import { bootstrapMeanInterval, type BootstrapInterval, type BootstrapOptions } from "./bootstrap";

/** A pairwise judgment as the report sees it. */
export interface ReportPairJudgment {
  judge: string;
  lang: string;
  questionId: string;
  turn: number;
  model1: string;
  model2: string;
  g1: "model_1" | "model_2" | "tie" | "error";
  g2: "model_1" | "model_2" | "tie" | "error";
  repeat: number;
  file: string;
  line: number;
}

/** Reads every `*_pair.jsonl` under `root`, resolving each row's language like the single files. */
export async function loadReportPairJudgments(options: { judgments: string; lang?: string; judgeModel?: string }): Promise<ReportPairJudgment[]> {
  const files = (await findJsonlFiles(options.judgments)).filter((file) => basename(file.path).endsWith("_pair.jsonl"));
  const rows: ReportPairJudgment[] = [];
  for (const file of files) {
    for (const { value, line } of await readPairJudgmentsWithLines(file.path)) {
      if (options.judgeModel && value.judge[0] !== options.judgeModel) continue;
      const { lang: idLang } = splitQuestionId(value.question_id);
      rows.push({
        judge: value.judge[0],
        lang: (value.lang ?? idLang ?? file.lang ?? options.lang ?? "EN").toUpperCase(),
        questionId: String(value.question_id),
        turn: value.turn,
        model1: value.model_1,
        model2: value.model_2,
        g1: value.g1_winner,
        g2: value.g2_winner,
        repeat: value.repeat ?? 0,
        file: file.path,
        line,
      });
    }
  }
  return rows;
}

/** One model's line of FastChat's pairwise table, with a bootstrap interval of the adjusted win rate. */
export interface PairWinRate {
  judge: string;
  lang: string;
  model: string;
  win: number;
  loss: number;
  tie: number;
  /** Of the ties, games whose two orders disagreed (FastChat counts them as ties). */
  inconsistent: number;
  winRate: number;
  lossRate: number;
  /** FastChat's `win_rate_adjusted`: (win + 0.5 tie) / games. */
  winRateAdjusted: number;
  interval: BootstrapInterval;
}

/** How often a judge gave the same verdict in both orders. */
export interface PositionConsistency {
  judge: string;
  lang: string;
  /** Games with a verdict in both orders (errors left out). */
  games: number;
  consistent: number;
  inconsistent: number;
  /** consistent / games. */
  rate: number | null;
  /** Inconsistent games where the judge preferred the answer shown first (A) in both orders, or second (B). */
  favouredFirst: number;
  favouredSecond: number;
  /** Games dropped because an order had no verdict. */
  errors: number;
}

/** Cohen's kappa of two judges, or Fleiss' kappa of all, on the combined verdicts. */
export interface PairAgreement {
  lang: string;
  judges: string[];
  statistic: "cohen" | "fleiss";
  items: number;
  kappa: number | null;
}

/** Everything the report shows about pairwise judgments. */
export interface PairwiseReport {
  baseline: string | null;
  judges: string[];
  /** FastChat `show_result` numbers per judge and language; judge `ensemble (majority of N judges)` with several. */
  winRates: PairWinRate[];
  consistency: PositionConsistency[];
  agreement: PairAgreement[];
  ensembleJudge: string | null;
}

type Verdict = "model_1" | "model_2" | "tie";

/** FastChat's rule (`display_result_pairwise`): a tie when game 1 says tie or the two games disagree. */
function fastChatVerdict(row: { g1: string; g2: string }): Verdict {
  if (row.g1 === "tie" || row.g1 !== row.g2) return "tie";
  return row.g1 as Verdict;
}

function isError(row: { g1: string; g2: string }): boolean {
  return row.g1 === "error" || row.g2 === "error";
}

/**
 * FastChat's `show_result.py --mode pairwise-baseline|pairwise-all` on one judgment file (one judge,
 * one language): rows with an error in either game are dropped; with a baseline, rows without it
 * are skipped; a game is a tie when game 1 says tie or the games disagree; the baseline's own line
 * is removed. Adds the inconsistent count and a bootstrap interval over questions.
 */
export function computePairWinRates(options: {
  rows: readonly ReportPairJudgment[];
  baseline: string | null;
  bootstrap?: BootstrapOptions;
  judge: string;
  lang: string;
}): PairWinRate[] {
  const tallies = new Map<string, { win: number; loss: number; tie: number; inconsistent: number; clusters: Map<string, number[]> }>();
  const tally = (model: string) => {
    let entry = tallies.get(model);
    if (!entry) tallies.set(model, (entry = { win: 0, loss: 0, tie: 0, inconsistent: 0, clusters: new Map() }));
    return entry;
  };
  const add = (model: string, questionId: string, value: 0 | 0.5 | 1, inconsistent: boolean) => {
    const entry = tally(model);
    if (value === 1) entry.win += 1;
    else if (value === 0) entry.loss += 1;
    else entry.tie += 1;
    if (inconsistent) entry.inconsistent += 1;
    entry.clusters.set(questionId, [...(entry.clusters.get(questionId) ?? []), value]);
  };
  for (const row of options.rows) {
    if (isError(row)) continue;
    if (options.baseline !== null && row.model1 !== options.baseline && row.model2 !== options.baseline) continue;
    const verdict = fastChatVerdict(row);
    const inconsistent = row.g1 !== row.g2;
    if (verdict === "tie") {
      add(row.model1, row.questionId, 0.5, inconsistent);
      add(row.model2, row.questionId, 0.5, inconsistent);
    } else {
      const winner = verdict === "model_1" ? row.model1 : row.model2;
      const loser = verdict === "model_1" ? row.model2 : row.model1;
      add(winner, row.questionId, 1, false);
      add(loser, row.questionId, 0, false);
    }
  }
  const rates: PairWinRate[] = [];
  for (const [model, entry] of tallies) {
    if (model === options.baseline) continue;
    const games = entry.win + entry.loss + entry.tie;
    rates.push({
      judge: options.judge,
      lang: options.lang,
      model,
      win: entry.win,
      loss: entry.loss,
      tie: entry.tie,
      inconsistent: entry.inconsistent,
      winRate: entry.win / games,
      lossRate: entry.loss / games,
      winRateAdjusted: (entry.win + 0.5 * entry.tie) / games,
      interval: bootstrapMeanInterval({
        clusters: [...entry.clusters.keys()].sort().map((key) => entry.clusters.get(key)!),
        ...(options.bootstrap ?? {}),
        stream: `pair|${options.judge}|${options.lang}|${model}`,
      }),
    });
  }
  return rates.sort((a, b) => b.winRateAdjusted - a.winRateAdjusted || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

/** Position consistency of one judge in one language. */
export function computePositionConsistency(rows: readonly ReportPairJudgment[], judge: string, lang: string): PositionConsistency {
  const valid = rows.filter((row) => !isError(row));
  const inconsistent = valid.filter((row) => row.g1 !== row.g2);
  return {
    judge,
    lang,
    games: valid.length,
    consistent: valid.length - inconsistent.length,
    inconsistent: inconsistent.length,
    rate: valid.length === 0 ? null : (valid.length - inconsistent.length) / valid.length,
    // Game 1 shows model_1 first, game 2 shows model_2 first.
    favouredFirst: inconsistent.filter((row) => row.g1 === "model_1" && row.g2 === "model_2").length,
    favouredSecond: inconsistent.filter((row) => row.g1 === "model_2" && row.g2 === "model_1").length,
    errors: rows.length - valid.length,
  };
}

function itemKey(row: ReportPairJudgment): string {
  return [row.lang, row.model1, row.model2, row.questionId, row.turn, row.repeat].join("\u0000");
}

/**
 * The pairwise part of the report: FastChat's win rates per judge and language, position
 * consistency, and with several judges their agreement (Cohen's kappa per pair of judges, Fleiss'
 * kappa over all, on FastChat's combined verdicts) and a majority-vote ensemble, labelled as such.
 * The baseline is the given one, else the model every row shares when there is exactly one.
 */
export function buildPairwiseReport(options: { rows: readonly ReportPairJudgment[]; baseline?: string; bootstrap?: BootstrapOptions }): PairwiseReport {
  const { rows } = options;
  const judges = [...new Set(rows.map((row) => row.judge))].sort();
  const languages = [...new Set(rows.map((row) => row.lang))].sort();
  let baseline = options.baseline ?? null;
  if (baseline === null && rows.length > 0) {
    const models = [...new Set(rows.flatMap((row) => [row.model1, row.model2]))];
    const shared = models.filter((model) => rows.every((row) => row.model1 === model || row.model2 === model));
    if (shared.length === 1 && models.length > 2) baseline = shared[0]!;
  }
  const winRates: PairWinRate[] = [];
  const consistency: PositionConsistency[] = [];
  const agreement: PairAgreement[] = [];
  for (const lang of languages) {
    for (const judge of judges) {
      const mine = rows.filter((row) => row.lang === lang && row.judge === judge);
      if (mine.length === 0) continue;
      winRates.push(...computePairWinRates({ rows: mine, baseline, bootstrap: options.bootstrap, judge, lang }));
      consistency.push(computePositionConsistency(mine, judge, lang));
    }
  }
  let ensembleJudge: string | null = null;
  if (judges.length > 1) {
    ensembleJudge = `ensemble (majority of ${judges.length} judges)`;
    for (const lang of languages) {
      const verdicts = new Map<string, { row: ReportPairJudgment; byJudge: Map<string, Verdict> }>();
      for (const row of rows) {
        if (row.lang !== lang || isError(row)) continue;
        const key = itemKey(row);
        const entry = verdicts.get(key) ?? { row, byJudge: new Map() };
        entry.byJudge.set(row.judge, fastChatVerdict(row));
        verdicts.set(key, entry);
      }
      const complete = [...verdicts.values()].filter((entry) => entry.byJudge.size === judges.length);
      for (let first = 0; first < judges.length; first += 1) {
        for (let second = first + 1; second < judges.length; second += 1) {
          const both = [...verdicts.values()].filter((entry) => entry.byJudge.has(judges[first]!) && entry.byJudge.has(judges[second]!));
          agreement.push({
            lang,
            judges: [judges[first]!, judges[second]!],
            statistic: "cohen",
            items: both.length,
            kappa: cohenKappa(both.map((entry) => entry.byJudge.get(judges[first]!)!), both.map((entry) => entry.byJudge.get(judges[second]!)!)),
          });
        }
      }
      agreement.push({ lang, judges, statistic: "fleiss", items: complete.length, kappa: fleissKappa(complete.map((entry) => judges.map((judge) => entry.byJudge.get(judge)!))) });
      // Majority of the judges' verdicts; without a majority the ensemble calls it a tie.
      const ensembleRows: ReportPairJudgment[] = complete.map((entry) => {
        const counts = new Map<Verdict, number>();
        for (const verdict of entry.byJudge.values()) counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
        const [top] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
        const verdict: Verdict = top![1] * 2 > judges.length ? top![0] : "tie";
        return { ...entry.row, judge: ensembleJudge!, g1: verdict, g2: verdict };
      });
      winRates.push(...computePairWinRates({ rows: ensembleRows, baseline, bootstrap: options.bootstrap, judge: ensembleJudge, lang }));
    }
  }
  return { baseline, judges, winRates, consistency, agreement, ensembleJudge };
}
