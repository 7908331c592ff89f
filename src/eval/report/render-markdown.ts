import type { MtBenchReport } from "./build-report";

function score(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : value.toFixed(2);
}

function table(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  return [
    `| ${header.map(escape).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ].join("\n");
}

/** Renders the report as Markdown: FastChat averages, categories, cross-lingual, errors, agreement. */
export function renderReportMarkdown(report: MtBenchReport, options: { charts?: string[] } = {}): string {
  const confidence = Math.round(report.bootstrap.confidence * 100);
  const sections: string[] = [];
  sections.push(`# MT-Bench-X report`);
  sections.push(
    `Judge: ${report.judges.join(", ") || "–"}. ${report.judgments} judgments, ${report.models.length} models, languages ${report.languages.join(", ")}.`,
  );
  sections.push(`## Averages (FastChat \`show_result\`)`);
  sections.push(
    `Rows with score -1 are left out, as FastChat does, and listed under Errors. The average is the mean over all remaining judgments. The ${confidence}% interval is a percentile bootstrap over questions (${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}).`,
  );
  sections.push(
    table(
      ["Model", "Language", "Turn 1", "Turn 2", "Average", `${confidence}% CI`, "Judgments", "Errors", "Wrong language"],
      report.fastchat.map((row) => [
        row.model,
        row.lang,
        score(row.turn1.mean),
        score(row.turn2.mean),
        score(row.overall.mean),
        row.interval.lower === null ? "–" : `${score(row.interval.lower)}–${score(row.interval.upper)}`,
        String(row.overall.count),
        String(row.errors),
        String(row.languageMismatches),
      ]),
    ),
  );
  for (const chart of options.charts ?? []) sections.push(`![${chart}](${chart})`);
  sections.push(`## Scores per category`);
  for (const lang of report.languages) {
    const models = report.models.filter((model) => report.cells.some((cell) => cell.model === model && cell.lang === lang));
    const header = ["Category", ...models.flatMap((model) => [`${model} T1`, `${model} T2`, `${model}`])];
    const rows = [...report.categories, "all"].map((category) => [
      category,
      ...models.flatMap((model) =>
        ([1, 2, "all"] as const).map((turn) =>
          score(report.cells.find((cell) => cell.model === model && cell.lang === lang && cell.category === category && cell.turn === turn)?.mean),
        ),
      ),
    ]);
    sections.push(`### ${lang}`);
    sections.push(table(header, rows));
  }
  if (report.crossLingual.length > 0) {
    sections.push(`## Cross-lingual comparison`);
    sections.push(`Improvement of the multilingual model over the monolingual one, in percent of the monolingual average.`);
    sections.push(
      table(
        ["Pair", "Dataset", "Language", "Multilingual", "Monolingual", "Multi.", "Mono.", "Improvement"],
        report.crossLingual.map((row) => [
          row.pair,
          row.dataset,
          row.evaluationLanguage,
          row.multilingualModel,
          row.monolingualModel,
          score(row.multilingualScore),
          score(row.monolingualScore),
          `${row.improvementPercent >= 0 ? "+" : ""}${row.improvementPercent.toFixed(1)}%`,
        ]),
      ),
    );
  }
  sections.push(`## Errors`);
  if (report.errors.length === 0) sections.push(`No judgment without a score.`);
  else {
    sections.push(`${report.errors.length} judgments have no score (-1) and are not averaged:`);
    sections.push(
      table(
        ["Model", "Language", "Question", "Turn", "Reason", "Where"],
        report.errors.map((error) => [error.model, error.lang, error.questionId, String(error.turn), error.reason, `${error.file}:${error.line}`]),
      ),
    );
  }
  if (report.agreement) {
    const agreement = report.agreement;
    sections.push(`## Judge vs human agreement`);
    sections.push(
      table(
        ["Pairs", "Pearson", "Spearman", "Kendall tau-b", "Unmatched human ratings"],
        [[String(agreement.count), score(agreement.pearson), score(agreement.spearman), score(agreement.kendallTauB), String(agreement.unmatched)]],
      ),
    );
  }
  return sections.join("\n\n") + "\n";
}
