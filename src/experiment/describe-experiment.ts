import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { jobStates, type ExperimentContext, type JobState } from "./job-inputs";
import { modelIdOf } from "./plan-experiment";

/** One row of `experiment plan`: a job, what it needs and whether it is done. */
export interface PlanRow {
  id: string;
  kind: string;
  state: JobState;
  needs: string[];
  gpus: number;
  gpuMemoryGb: number | null;
  /** Judge calls (judge jobs): questions x turns x languages. */
  judgeCalls: number | null;
  /** Estimated judge price (with `evaluation.judge.prices`), assuming FastChat-sized prompts. */
  judgePrice: number | null;
}

// FastChat's single-grading prompts with an answer are about 1,000 tokens in and 250 out.
const JUDGE_INPUT_TOKENS = 1000;
const JUDGE_OUTPUT_TOKENS = 250;

/** The plan as rows, with each job's state. */
export async function describePlan(context: ExperimentContext): Promise<PlanRow[]> {
  const states = await jobStates(context);
  const { bench, judge } = context.experiment.config.evaluation;
  let questions = bench.questions ?? 80;
  try {
    const text = await readFile(join(context.directory, "bench", `mt_bench_${context.plan.evaluationLanguages[0]!.toUpperCase()}`, "question.jsonl"), "utf8");
    questions = text.split("\n").filter((line) => line.trim()).length;
  } catch {
    // bench not prepared yet: the configured subset or MT-Bench's 80
  }
  return context.plan.jobs.map((job) => {
    const judgeCalls = job.kind === "judge" ? questions * 2 * job.languages!.length : null;
    const judgePrice = judgeCalls !== null && judge.prices && !judge.smokeTest ? (judgeCalls * (JUDGE_INPUT_TOKENS * judge.prices.inputPerMillion + JUDGE_OUTPUT_TOKENS * judge.prices.outputPerMillion)) / 1_000_000 : judgeCalls !== null ? 0 : null;
    return { id: job.id, kind: job.kind, state: states.get(job.id)!.state, needs: job.needs, gpus: job.gpus, gpuMemoryGb: job.gpuMemoryGb ?? null, judgeCalls, judgePrice };
  });
}

/** Renders plan rows as a text table. */
export function renderPlanTable(rows: readonly PlanRow[], currency = "USD"): string {
  const header = ["job", "state", "gpus", "gpu GB", "judge calls", `judge ${currency}`, "needs"];
  const body = rows.map((row) => [row.id, row.state, String(row.gpus), row.gpuMemoryGb === null ? "-" : String(row.gpuMemoryGb), row.judgeCalls === null ? "-" : String(row.judgeCalls), row.judgePrice === null ? "-" : row.judgePrice.toFixed(2), row.needs.length > 3 ? `${row.needs.length} jobs` : row.needs.join(" ")]);
  const widths = header.map((title, index) => Math.max(title.length, ...body.map((cells) => cells[index]!.length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  ").trimEnd();
  const counts = ["done", "todo", "waiting"].map((state) => `${rows.filter((row) => row.state === state).length} ${state}`).join(", ");
  const calls = rows.reduce((sum, row) => sum + (row.judgeCalls ?? 0), 0);
  const price = rows.reduce((sum, row) => sum + (row.judgePrice ?? 0), 0);
  return [line(header), ...body.map(line), "", `${rows.length} jobs: ${counts}; ${calls} judge calls, about ${price.toFixed(2)} ${currency}`].join("\n") + "\n";
}

/** One cell of `experiment status`. */
export interface StatusCell {
  model: string;
  corpus: string;
  composition: string;
  /** done when the whole chain (train, generate, judge) is done; else the first stage not done. */
  state: string;
  /** Mean of the FastChat averages over the evaluation languages, once the report exists. */
  score: number | null;
}

/** The matrix model x corpus x composition with each cell's state and score. */
export async function describeStatus(context: ExperimentContext): Promise<StatusCell[]> {
  const states = await jobStates(context);
  let averages: { model: string; overall: { mean: number | null } }[] = [];
  if (states.get("report")?.state === "done") {
    try {
      averages = (JSON.parse(await readFile(join(context.directory, "report", "mt-bench-x", "report.json"), "utf8")) as { fastchat: typeof averages }).fastchat;
    } catch {
      averages = [];
    }
  }
  return context.plan.cells.map((cell) => {
    const chain = context.plan.jobs.filter((job) => job.cell && job.cell.model === cell.model && job.cell.corpus === cell.corpus && job.cell.composition === cell.composition);
    const notDone = chain.find((job) => states.get(job.id)!.state !== "done");
    const scores = averages.filter((row) => row.model === modelIdOf(cell) && row.overall.mean !== null).map((row) => row.overall.mean!);
    return { ...cell, state: notDone ? `${notDone.kind} ${states.get(notDone.id)!.state}` : "done", score: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null };
  });
}

/** Renders the status matrix: one table per model, corpora as rows, compositions as columns. */
export function renderStatus(cells: readonly StatusCell[], reportState: JobState | undefined): string {
  const lines: string[] = [];
  for (const model of [...new Set(cells.map((cell) => cell.model))]) {
    const mine = cells.filter((cell) => cell.model === model);
    const compositions = [...new Set(mine.map((cell) => cell.composition))];
    const corpora = [...new Set(mine.map((cell) => cell.corpus))];
    const table = [[model, ...compositions], ...corpora.map((corpus) => [corpus, ...compositions.map((composition) => {
      const cell = mine.find((candidate) => candidate.corpus === corpus && candidate.composition === composition);
      if (!cell) return "excluded";
      return cell.state === "done" && cell.score !== null ? `done ${cell.score.toFixed(2)}` : cell.state;
    })])];
    const widths = table[0]!.map((_, index) => Math.max(...table.map((row) => row[index]!.length)));
    for (const row of table) lines.push(row.map((text, index) => text.padEnd(widths[index]!)).join("  ").trimEnd());
    lines.push("");
  }
  const done = cells.filter((cell) => cell.state === "done").length;
  lines.push(`${done} of ${cells.length} cells done; report ${reportState ?? "waiting"}`);
  return lines.join("\n") + "\n";
}
