import { Command, InvalidArgumentError } from "commander";
import type { ReviewSession } from "../../review/start-review";
import { parseList } from "../option-parsers";

interface ServerCommandOptions {
  out: string;
  host: string;
  port: number;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`expected 0 to 65535, got "${value}"`);
  return port;
}

/** Prints where the session is, then serves until Ctrl-C or SIGTERM; every write is already on disk. */
async function serveUntilStopped(session: ReviewSession, host: string): Promise<void> {
  const lines = [
    `review: open ${session.url}`,
    ...(host === "0.0.0.0" || host === "::" ? ["review: listening on every interface: share the URL (with this machine's address) only with your raters; the token is the only way in"] : []),
    `review: saving to ${session.database}; files kept up to date: ${session.exports.join(", ")}`,
    "review: press Ctrl-C to stop (nothing is lost: every answer is saved before it is acknowledged)",
  ];
  process.stdout.write(lines.join("\n") + "\n");
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await session.close();
}

function addServerOptions(command: Command): Command {
  return command
    .requiredOption("--out <dir>", "directory of the session's database (review.sqlite) and the exported files")
    .option("--host <address>", "interface to listen on; 0.0.0.0 shares the page on the LAN (the token is still required)", "127.0.0.1")
    .option("--port <n>", "port (0: any free port)", parsePort, 0);
}

/** Adds `build-datasets review translations|ratings`: the local web app for the study's human steps. */
export function registerReviewCommands(program: Command): void {
  const group = program.command("review").description("A local web page to curate translations and to rate answers (prints its URL with an access token)");

  addServerOptions(
    group
      .command("translations")
      .description("curate translations: source and translation side by side, quality flags as a queue; writes corrections.csv or overrides.jsonl")
      .option("--corpus <dir>", "an output directory of `translate` (en.jsonl, de.jsonl, translation-report.json)")
      .option("--bench <dir>", "an MT-Bench-X tree (mt_bench_EN/, mt_bench_DE/ ...)")
      .option("--lang <languages>", "only these languages, comma-separated", parseList),
  ).action(async (options: ServerCommandOptions & { corpus?: string; bench?: string; lang?: string[] }) => {
    const { UsageError } = await import("../../errors");
    if ((options.corpus === undefined) === (options.bench === undefined)) throw new UsageError("give either --corpus <dir> or --bench <dir>");
    const { startTranslationReview } = await import("../../review/start-review");
    const session = await startTranslationReview({
      ...(options.corpus ? { corpus: options.corpus } : { bench: options.bench! }),
      ...(options.lang ? { languages: options.lang } : {}),
      out: options.out,
      host: options.host,
      port: options.port,
    });
    await serveUntilStopped(session, options.host);
  });

  addServerOptions(
    group
      .command("ratings")
      .description("rate answers blind (1-10 and A/B/tie) as several raters; writes human-ratings.csv and human_judgments.json")
      .requiredOption("--bench <path>", "an MT-Bench(-X) tree or question.jsonl")
      .requiredOption("--answers <dir>", "FastChat answer files (<model>.jsonl, or a tree with model_answer/)")
      .requiredOption("--lang <code>", "language of the questions and answers, e.g. DE")
      .option("--judgments <path>", "judge judgments for the judge-human agreement on the results page")
      .option("--models <ids>", "only these models, comma-separated", parseList)
      .option("--questions <numbers>", "only these question numbers, comma-separated", parseList)
      .option("--pairwise", "also compare every pair of models (A/B/tie)")
      .option("--no-single", "no single-answer 1-10 tasks (with --pairwise)")
      .option("--seed <seed>", "seed of each rater's order and of the A/B sides", "0"),
  ).action(
    async (
      options: ServerCommandOptions & { bench: string; answers: string; lang: string; judgments?: string; models?: string[]; questions?: string[]; pairwise?: boolean; single: boolean; seed: string },
    ) => {
      const { startRatingReview } = await import("../../review/start-review");
      const session = await startRatingReview({
        bench: options.bench,
        answers: options.answers,
        lang: options.lang,
        seed: options.seed,
        pairwise: options.pairwise ?? false,
        single: options.single,
        ...(options.judgments ? { judgments: options.judgments } : {}),
        ...(options.models ? { models: options.models } : {}),
        ...(options.questions ? { questions: options.questions } : {}),
        out: options.out,
        host: options.host,
        port: options.port,
      });
      await serveUntilStopped(session, options.host);
    },
  );
}
