import type { Command } from "commander";
import { SOURCE_FORMATS, type SourceFormat } from "../../sources/read-source";
import { warnSkippedFiles } from "../warn-skipped-files";

/** Adds `build-datasets inspect PATH` and `build-datasets validate PATH`. */
export function registerInspectCommands(program: Command): void {
  program
    .command("inspect")
    .description("rows, languages, ids, turns and characters of a dataset, with a per-language table")
    .argument("<path>", "a data file or a directory of per-language files")
    .option("--input-format <format>", `force the input format (${SOURCE_FORMATS.join(", ")})`)
    .option("--json", "print JSON instead of a table")
    .action(async (path: string, options: { inputFormat?: SourceFormat; json?: boolean }) => {
      const { inspectDataset } = await import("../../inspect/inspect-dataset");
      const inspection = await inspectDataset({ path, ...(options.inputFormat ? { format: options.inputFormat } : {}) });
      warnSkippedFiles(inspection.skippedFiles);
      if (options.json) {
        process.stdout.write(JSON.stringify(inspection, null, 2) + "\n");
        return;
      }
      const lines = [
        `${inspection.path}: ${inspection.rows} rows, ${inspection.languages.length} languages, ${inspection.ids} ids (${inspection.idsInEveryLanguage} in every language)`,
        `sources: ${Object.entries(inspection.sources).map(([source, count]) => `${source} ${count}`).join(", ")}`,
        "",
      ];
      const header = ["lang", "rows", "ids", "turns min/mean/max", "multi-turn", "characters", "chars/row"];
      const rows = inspection.languages.map((lang) => {
        const entry = inspection.perLanguage[lang]!;
        return [lang, entry.rows, entry.ids, `${entry.turns.min}/${entry.turns.mean}/${entry.turns.max}`, entry.multiTurnRows, entry.characters, entry.meanCharacters].map(String);
      });
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
      const format = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
      lines.push(format(header), ...rows.map(format));
      process.stdout.write(lines.join("\n") + "\n");
    });

  program
    .command("validate")
    .description("check every row of a dataset; prints each problem with file:line and field, exits 1 if any")
    .argument("<path>", "a data file or a directory of per-language files")
    .option("--input-format <format>", `validate as this format (${SOURCE_FORMATS.join(", ")})`)
    .option("--max-problems <n>", "stop after this many problems", (value) => Number(value), 1000)
    .action(async (path: string, options: { inputFormat?: SourceFormat; maxProblems: number }) => {
      const { validateDataset, formatProblem } = await import("../../inspect/validate-dataset");
      const { rows, problems, skippedFiles } = await validateDataset({
        path,
        maxProblems: options.maxProblems,
        ...(options.inputFormat ? { format: options.inputFormat } : {}),
      });
      warnSkippedFiles(skippedFiles);
      for (const problem of problems) process.stdout.write(formatProblem(problem) + "\n");
      process.stdout.write(`${rows} rows checked, ${problems.length} problem${problems.length === 1 ? "" : "s"}\n`);
      if (problems.length > 0) process.exitCode = 1;
    });
}
