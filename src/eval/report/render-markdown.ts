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
  if (report.fastchat.length === 0) {
    renderPairwise(report, sections);
    return sections.join("\n\n") + "\n";
  }
  sections.push(`## Averages (FastChat \`show_result\`)`);
  if (report.panel?.ensembleJudge) {
    sections.push(
      `**These averages are the ${report.panel.ensembleJudge}**: each judgment's score is the mean of the judges' scores (each judge's own repeats averaged first). Each judge's own FastChat numbers are under "Several judges".`,
    );
  }
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
  renderPanel(report, sections);
  renderPairwise(report, sections);
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

function rate(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

function renderPanel(report: MtBenchReport, sections: string[]): void {
  const panel = report.panel;
  if (!panel) return;
  if (panel.judges.length > 1) {
    sections.push(`## Several judges`);
    sections.push(`Each judge's FastChat averages (all its repeats together):`);
    sections.push(
      table(
        ["Judge", "Model", "Language", "Turn 1", "Turn 2", "Average", "Judgments", "Errors"],
        panel.perJudge.map((row) => [row.judge, row.model, row.lang, score(row.turn1.mean), score(row.turn2.mean), score(row.overall.mean), String(row.overall.count), String(row.errors)]),
      ),
    );
    sections.push(`### Agreement between judges`);
    sections.push(`Over the judgments both judges scored (each judge's repeats averaged first).`);
    sections.push(
      table(
        ["Language", "Judge A", "Judge B", "Judgments", "Pearson", "Spearman", "Kendall tau-b"],
        panel.agreement.map((row) => [row.lang, row.judges[0], row.judges[1], String(row.count), score(row.pearson), score(row.spearman), score(row.kendallTauB)]),
      ),
    );
  }
  if (panel.spread.length > 0) {
    sections.push(`## Spread between repeats`);
    sections.push(
      `The same judgments asked several times. Per repeat, the FastChat average of the model; the median, range and standard deviation of those averages; and how many judgments did not get the same score every time.`,
    );
    sections.push(
      table(
        ["Judge", "Model", "Language", "Repeats", "Median", "Min", "Max", "Std. dev.", "Unstable judgments"],
        panel.spread.map((row) => [
          row.judge,
          row.model,
          row.lang,
          String(row.repeats),
          score(row.median),
          score(row.min),
          score(row.max),
          score(row.standardDeviation),
          `${row.unstableJudgments} of ${row.judgments}`,
        ]),
      ),
    );
  }
}

function renderPairwise(report: MtBenchReport, sections: string[]): void {
  const pairwise = report.pairwise;
  if (!pairwise) return;
  const confidence = Math.round(report.bootstrap.confidence * 100);
  sections.push(`## Pairwise win rates (FastChat \`show_result\`)`);
  sections.push(
    `${pairwise.baseline ? `Against the baseline ${pairwise.baseline}.` : "Every pair of models."} Each pair was judged twice with the positions swapped; a game counts as a win only when both orders agree, and as a tie (FastChat's rule) when the judge said tie or the orders disagreed ("inconsistent"). Games with an unparseable verdict are left out. Adjusted win rate = (win + 0.5 tie) / games; the ${confidence}% interval is a bootstrap over questions.${pairwise.ensembleJudge ? ` The ${pairwise.ensembleJudge} takes each game's majority verdict (a tie without a majority).` : ""}`,
  );
  sections.push(
    table(
      ["Judge", "Language", "Model", "Win", "Loss", "Tie", "of which inconsistent", "Win rate", "Loss rate", "Adjusted win rate", `${confidence}% CI`],
      pairwise.winRates.map((row) => [
        row.judge,
        row.lang,
        row.model,
        String(row.win),
        String(row.loss),
        String(row.tie),
        String(row.inconsistent),
        rate(row.winRate),
        rate(row.lossRate),
        rate(row.winRateAdjusted),
        row.interval.lower === null ? "–" : `${rate(row.interval.lower)}–${rate(row.interval.upper)}`,
      ]),
    ),
  );
  sections.push(`### Position consistency`);
  sections.push(`How often a judge gave the same verdict in both orders; inconsistent games split by the position the judge favoured both times.`);
  sections.push(
    table(
      ["Judge", "Language", "Games", "Consistent", "Inconsistent", "Rate", "Favoured first", "Favoured second", "Errors"],
      pairwise.consistency.map((row) => [
        row.judge,
        row.lang,
        String(row.games),
        String(row.consistent),
        String(row.inconsistent),
        rate(row.rate),
        String(row.favouredFirst),
        String(row.favouredSecond),
        String(row.errors),
      ]),
    ),
  );
  if (pairwise.agreement.length > 0) {
    sections.push(`### Agreement between judges (pairwise verdicts)`);
    sections.push(
      table(
        ["Language", "Statistic", "Judges", "Games", "Kappa"],
        pairwise.agreement.map((row) => [row.lang, row.statistic === "cohen" ? "Cohen's kappa" : "Fleiss' kappa", row.judges.join(", "), String(row.items), score(row.kappa)]),
      ),
    );
  }
}
