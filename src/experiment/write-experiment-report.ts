import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeToString } from "fast-csv";
import { parseComparisonPairs } from "../eval/report/cross-lingual";
import { loadReportJudgments } from "../eval/report/load-report-judgments";
import { renderBarChartSvg } from "../eval/report/render-svg";
import { writeMtBenchReport } from "../eval/report/write-report";
import type { ExperimentContext } from "./job-inputs";
import { modelIdOf, type ExperimentCell } from "./plan-experiment";
import { renderSignedBarChartSvg } from "./render-signed-bar-chart";
import { ExperimentJobError } from "./experiment-errors";
import { SMOKE_TEST_JUDGE_MODEL } from "./smoke-test-judge";
import { computeStudyFigures, type StudyFigures } from "./study-figures";

const SMOKE_TEST_SUBTITLE = `SMOKE TEST: scores from ${SMOKE_TEST_JUDGE_MODEL}, a deterministic scorer, not an LLM judge`;

function rounded(value: number | null): number | string {
  return value === null ? "" : Number(value.toFixed(6));
}

function signed(value: number, digits = 1): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}

/** "clearly better", "clearly worse" or "not clearly different": does the interval exclude zero? */
function verdict(lower: number | null, upper: number | null): string {
  if (lower === null || upper === null) return "no interval";
  if (lower > 0) return "clearly better";
  if (upper < 0) return "clearly worse";
  return "not clearly different";
}

/**
 * The report job: the MT-Bench-X report of every judgment of the plan (`mt-bench-x/`), the study's
 * figures as SVG with their numbers as CSV (`figures/`), and `report.md`, the results section.
 */
export async function writeExperimentReport(options: { context: ExperimentContext; out: string }): Promise<StudyFigures> {
  const { context, out } = options;
  const { config } = context.experiment;
  const smokeTest = config.evaluation.judge.smokeTest;
  const judgmentsRoot = join(context.directory, "judgments");
  const cells = new Map<string, ExperimentCell>(context.plan.cells.map((cell) => [modelIdOf(cell), cell]));
  const stale = await staleJudgmentFolders(judgmentsRoot, context.plan.cells);
  if (stale.length > 0) {
    throw new ExperimentJobError(`judgments of cells that are not in the plan any more: ${stale.join(", ")} (under ${judgmentsRoot}); move them away so that the report holds only this experiment`);
  }
  const pairs = config.report.comparisons.flatMap((text) => parseComparisonPairs(text));
  const bench = join(context.directory, "bench");
  const { report } = await writeMtBenchReport({ judgments: judgmentsRoot, bench, out: join(out, "mt-bench-x"), pairs, bootstrap: config.report.bootstrap });
  const judgments = await loadReportJudgments({ judgments: judgmentsRoot, bench });
  const figures = computeStudyFigures({ report, judgments, cells, contrasts: config.report.contrasts, bootstrap: config.report.bootstrap });
  const label = (corpus: string) => config.report.labels[corpus] ?? corpus;
  const wanted = new Set(config.report.figures);
  const subtitle = smokeTest ? SMOKE_TEST_SUBTITLE : undefined;
  const titlePrefix = smokeTest ? "[SMOKE TEST] " : "";
  const figureDirectory = join(out, "figures");
  await mkdir(figureDirectory, { recursive: true });
  const written: { file: string; caption: string }[] = [];
  const models = config.models.map((model) => model.name);

  if (wanted.has("scores")) {
    await writeFile(join(figureDirectory, "scores.csv"), await writeToString(figures.scores.map((row) => ({ ...row, score: rounded(row.score), lower: rounded(row.lower), upper: rounded(row.upper), smoke_test: smokeTest })), { headers: ["model", "corpus", "composition", "lang", "score", "lower", "upper", "smoke_test"] }));
    for (const model of models) {
      const rows = figures.scores.filter((row) => row.model === model);
      if (rows.length === 0) continue;
      const datasets = [...new Set(rows.map((row) => `${row.corpus}|${row.composition}`))];
      const svg = renderBarChartSvg({
        title: `${titlePrefix}${model}: MT-Bench-X score per dataset and evaluation language`,
        yMax: 10,
        yLabel: smokeTest ? "smoke-test score (1-10)" : "score (1-10)",
        groups: datasets.map((dataset) => {
          const [corpus, composition] = dataset.split("|") as [string, string];
          return { label: `${label(corpus)} ${composition}`, bars: rows.filter((row) => row.corpus === corpus && row.composition === composition).map((row) => ({ series: row.lang, value: row.score, lower: row.lower, upper: row.upper })) };
        }),
      });
      const file = `figures/scores-${model}.svg`;
      await writeFile(join(out, file), svg);
      written.push({ file, caption: `${model}: mean MT-Bench-X score per dataset and evaluation language, ${percent(config.report.bootstrap.confidence)} bootstrap intervals` });
    }
  }
  if (wanted.has("cross-lingual")) {
    await writeFile(join(figureDirectory, "cross-lingual.csv"), await writeToString(figures.crossLingual.map((row) => ({ ...row, improvementPercent: rounded(row.improvementPercent), lower: rounded(row.lower), upper: rounded(row.upper), smoke_test: smokeTest })), { headers: ["model", "corpus", "pair", "lang", "multilingualModel", "monolingualModel", "multilingualScore", "monolingualScore", "improvementPercent", "lower", "upper", "smoke_test"] }));
    for (const model of models) {
      const rows = figures.crossLingual.filter((row) => row.model === model);
      if (rows.length === 0) continue;
      const corpora = [...new Set(rows.map((row) => row.corpus))];
      const svg = renderSignedBarChartSvg({
        title: `${titlePrefix}${model}: improvement of multilingual over monolingual tuning`,
        ...(subtitle ? { subtitle } : {}),
        yLabel: "improvement (%)",
        groups: corpora.map((corpus) => ({ label: label(corpus), bars: rows.filter((row) => row.corpus === corpus).map((row) => ({ series: `${row.pair} in ${row.lang}`, value: row.improvementPercent, lower: row.lower, upper: row.upper })) })),
      });
      const file = `figures/cross-lingual-${model}.svg`;
      await writeFile(join(out, file), svg);
      written.push({ file, caption: `${model}: percentage improvement of each multilingual composition over the monolingual one, per dataset` });
    }
  }
  if (wanted.has("contrasts")) {
    await writeFile(join(figureDirectory, "contrasts.csv"), await writeToString(figures.contrasts.map((row) => ({ ...row, difference: rounded(row.difference), lower: rounded(row.lower), upper: rounded(row.upper), smoke_test: smokeTest })), { headers: ["contrast", "model", "composition", "lang", "corpus", "baseline", "corpusScore", "baselineScore", "difference", "lower", "upper", "smoke_test"] }));
    for (const contrast of config.report.contrasts) {
      const rows = figures.contrasts.filter((row) => row.contrast === contrast.name);
      if (rows.length === 0) continue;
      const compositions = [...new Set(rows.map((row) => row.composition))];
      const svg = renderSignedBarChartSvg({
        title: `${titlePrefix}${contrast.title}: ${label(contrast.corpus)} minus ${label(contrast.baseline)}`,
        ...(subtitle ? { subtitle } : {}),
        yLabel: "score difference",
        groups: compositions.map((composition) => ({ label: composition, bars: rows.filter((row) => row.composition === composition).map((row) => ({ series: `${row.model} in ${row.lang}`, value: row.difference, lower: row.lower, upper: row.upper })) })),
      });
      const file = `figures/${contrast.name}.svg`;
      await writeFile(join(out, file), svg);
      written.push({ file, caption: `${contrast.title}: MT-Bench-X score of ${contrast.corpus} minus ${contrast.baseline}, same composition, model and language` });
    }
  }
  await writeFile(join(out, "report.md"), renderResults({ context, figures, written, smokeTest, label, judges: report.judges }));
  return figures;
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

async function staleJudgmentFolders(root: string, cells: readonly ExperimentCell[]): Promise<string[]> {
  const known = new Set(cells.map((cell) => `${cell.model}/${cell.corpus}/${cell.composition}`));
  const stale: string[] = [];
  for (const model of await readdir(root).catch(() => [] as string[])) {
    for (const corpus of await readdir(join(root, model)).catch(() => [] as string[])) {
      for (const composition of await readdir(join(root, model, corpus)).catch(() => [] as string[])) {
        if (!known.has(`${model}/${corpus}/${composition}`)) stale.push(`${model}/${corpus}/${composition}`);
      }
    }
  }
  return stale;
}

function renderResults(options: {
  context: ExperimentContext;
  figures: StudyFigures;
  written: { file: string; caption: string }[];
  smokeTest: boolean;
  label: (corpus: string) => string;
  judges: string[];
}): string {
  const { figures, written, smokeTest, label, context } = options;
  const { config } = context.experiment;
  const level = percent(config.report.bootstrap.confidence);
  const lines: string[] = ["# Results", ""];
  if (smokeTest) {
    lines.push(`> **SMOKE TEST.** Every score below comes from \`${SMOKE_TEST_JUDGE_MODEL}\`, a deterministic scorer behind an OpenAI-compatible interface, not from an LLM judge. The numbers test the pipeline and say nothing about the models.`, "");
  }
  lines.push(
    `${context.plan.cells.length} models (${config.models.map((model) => model.name).join(", ")} tuned on ${Object.keys(context.experiment.study.corpora).length} corpora), evaluated on MT-Bench-X in ${context.plan.evaluationLanguages.map((lang) => lang.toUpperCase()).join(", ")}, judged by ${options.judges.join(", ")}. Intervals are ${level} percentile bootstrap intervals over questions (${config.report.bootstrap.resamples} resamples, seed ${config.report.bootstrap.seed}); a difference is called clear when its interval excludes zero.`,
    "",
    "## Monolingual evaluation",
    "",
    "| model | dataset | composition | language | score | interval |",
    "| --- | --- | --- | --- | ---: | --- |",
    ...figures.scores.map((row) => `| ${row.model} | ${label(row.corpus)} | ${row.composition} | ${row.lang} | ${row.score.toFixed(2)} | ${interval(row.lower, row.upper, 2)} |`),
    "",
  );
  for (const model of config.models.map((candidate) => candidate.name)) {
    const rows = figures.scores.filter((row) => row.model === model);
    if (rows.length === 0) continue;
    const best = [...rows].sort((a, b) => b.score - a.score)[0]!;
    lines.push(`On ${model}, the best score is ${best.score.toFixed(2)} (${label(best.corpus)} ${best.composition}, evaluated in ${best.lang}).`);
  }
  lines.push("", "## Cross-lingual transfer", "");
  if (figures.crossLingual.length === 0) lines.push("No comparison had scores on both sides.");
  else {
    lines.push("| model | dataset | comparison | language | multilingual | monolingual | improvement | interval | verdict |", "| --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |");
    for (const row of figures.crossLingual) {
      lines.push(`| ${row.model} | ${label(row.corpus)} | ${row.pair} | ${row.lang} | ${row.multilingualScore.toFixed(2)} | ${row.monolingualScore.toFixed(2)} | ${signed(row.improvementPercent)}% | ${interval(row.lower, row.upper, 1)} | ${verdict(row.lower, row.upper)} |`);
    }
    lines.push("");
    const clear = figures.crossLingual.filter((row) => verdict(row.lower, row.upper) !== "not clearly different" && row.lower !== null);
    const mean = figures.crossLingual.reduce((sum, row) => sum + row.improvementPercent, 0) / figures.crossLingual.length;
    lines.push(`Over ${figures.crossLingual.length} comparisons the multilingual models differ from the monolingual ones by ${signed(mean)}% on average; ${clear.length} of them are clear at the ${level} level (${clear.filter((row) => row.improvementPercent > 0).length} better, ${clear.filter((row) => row.improvementPercent < 0).length} worse).`);
  }
  for (const contrast of config.report.contrasts) {
    const rows = figures.contrasts.filter((row) => row.contrast === contrast.name);
    lines.push("", `## ${contrast.title}`, "");
    if (rows.length === 0) {
      lines.push("No model was trained on both corpora with the same composition.");
      continue;
    }
    lines.push(`| model | composition | language | ${label(contrast.corpus)} | ${label(contrast.baseline)} | difference | interval | verdict |`, "| --- | --- | --- | ---: | ---: | ---: | --- | --- |");
    for (const row of rows) lines.push(`| ${row.model} | ${row.composition} | ${row.lang} | ${row.corpusScore.toFixed(2)} | ${row.baselineScore.toFixed(2)} | ${signed(row.difference, 2)} | ${interval(row.lower, row.upper, 2)} | ${verdict(row.lower, row.upper)} |`);
    const mean = rows.reduce((sum, row) => sum + row.difference, 0) / rows.length;
    lines.push("", `${label(contrast.corpus)} scores ${signed(mean, 2)} points against ${label(contrast.baseline)} on average over ${rows.length} model x composition x language cells; ${rows.filter((row) => verdict(row.lower, row.upper).startsWith("clearly")).length} of the differences are clear.`);
  }
  lines.push("", "## Figures", "");
  for (const figure of written) lines.push(`![${figure.caption}](${figure.file})`, "", `*${figure.caption}.*`, "");
  lines.push("The numbers behind the figures are in `figures/*.csv`; the MT-Bench-X report (averages, categories, errors) is in `mt-bench-x/report.md`.", "");
  return lines.join("\n");
}

function interval(lower: number | null, upper: number | null, digits: number): string {
  return lower === null || upper === null ? "-" : `[${lower.toFixed(digits)}, ${upper.toFixed(digits)}]`;
}
