import { join } from "node:path";
import { z } from "zod";
import { UsageError } from "../errors";
import { mountRatingRoutes } from "./rating-routes";
import { loadRatingReview } from "./rating-review";
import { exportRatings, exportTranslationReview } from "./export-review";
import { createAccessToken, createReviewApp, startReviewServer } from "./review-server";
import { openReviewStore, type ReviewStore } from "./review-store";
import { mountTranslationRoutes } from "./translation-routes";
import { loadBenchReview, loadCorpusReview } from "./translation-review";
import { parseOptions } from "../parse-options";

/** The SQLite database of a review session, in its output directory. */
export const REVIEW_DATABASE = "review.sqlite";

const serverOptionsSchema = {
  /** Directory of the database and the exported files. */
  out: z.string().min(1),
  /** Interface to listen on (default 127.0.0.1; `0.0.0.0` shares it on the LAN, the token still required). */
  host: z.string().min(1).default("127.0.0.1"),
  /** Port (default 0: any free port). */
  port: z.number().int().min(0).max(65535).default(0),
  /** The access token (default: a fresh random one). */
  token: z.string().min(16, "an access token needs 16 characters or more").optional(),
};

/** Options of {@link startTranslationReview}: exactly one of `corpus` and `bench`. */
export const translationReviewOptionsSchema = z
  .strictObject({
    /** An output directory of `translate` (`en.jsonl`, `de.jsonl`, `translation-report.json`). */
    corpus: z.string().min(1).optional(),
    /** An MT-Bench-X tree (`mt_bench_EN/`, `mt_bench_DE/` ...). */
    bench: z.string().min(1).optional(),
    /** Languages to review (default: all). */
    languages: z.array(z.string().min(2)).optional(),
    ...serverOptionsSchema,
  })
  .refine((options) => (options.corpus === undefined) !== (options.bench === undefined), "give either corpus or bench");
export type TranslationReviewOptions = z.input<typeof translationReviewOptionsSchema>;

/** Options of {@link startRatingReview}. */
export const ratingReviewOptionsSchema = z.strictObject({
  /** An MT-Bench(-X) tree or a `question.jsonl`. */
  bench: z.string().min(1),
  /** FastChat answer files: a directory of `<model>.jsonl` or a tree with `model_answer/` folders. */
  answers: z.string().min(1),
  /** Language of the questions and answers (`DE`). */
  lang: z.string().min(2),
  /** Seed of each rater's task order and of the sides in pairwise tasks. */
  seed: z.string().min(1).default("0"),
  /** Only these models. */
  models: z.array(z.string().min(1)).optional(),
  /** Only these question numbers (`81`, `82` ...). */
  questions: z.array(z.string().min(1)).optional(),
  /** Add pairwise A/B/tie tasks for every pair of models. */
  pairwise: z.boolean().default(false),
  /** Keep single-answer 1-10 tasks (default true). */
  single: z.boolean().default(true),
  /** Judge judgments (a file or directory) for the judge-human agreement on the results page. */
  judgments: z.string().min(1).optional(),
  ...serverOptionsSchema,
});
export type RatingReviewOptions = z.input<typeof ratingReviewOptionsSchema>;

/** A running review session. */
export interface ReviewSession {
  /** The URL to open, with the access token. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Files kept up to date after every write. */
  readonly exports: readonly string[];
  readonly database: string;
  close(): Promise<void>;
}

async function serve(
  options: { out: string; host: string; port: number; token?: string | undefined },
  title: string,
  mount: (store: ReviewStore) => { routes: Parameters<typeof createReviewApp>[0]["mount"]; exportAll: () => Promise<string[]> },
): Promise<ReviewSession> {
  const token = options.token ?? createAccessToken();
  const database = join(options.out, REVIEW_DATABASE);
  const store = openReviewStore({ path: database });
  try {
    const { routes, exportAll } = mount(store);
    // A restart after a crash brings the files up to date with the database.
    const exports = await exportAll();
    const server = await startReviewServer({ app: createReviewApp({ token, title, mount: routes }), host: options.host, port: options.port });
    return {
      url: `${server.url}/?token=${token}`,
      port: server.port,
      token,
      exports,
      database,
      close: async () => {
        await server.close();
        store.close();
      },
    };
  } catch (error) {
    store.close();
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") throw new UsageError(`${options.host}:${options.port} is in use; pick another --port (0: any free port)`);
    throw error;
  }
}

/**
 * Serves the translation curation page: source and translation side by side, flags as filters,
 * edits saved at once to SQLite and exported to `corrections.csv` (corpus) or `overrides.jsonl`
 * (MT-Bench-X), which `translate --apply-corrections` and `mt-bench-x build --overrides` read.
 *
 * @example
 * const session = await startTranslationReview({ corpus: "out/lima-x", out: "out/lima-x/review" });
 * console.log(session.url);
 */
export async function startTranslationReview(options: TranslationReviewOptions): Promise<ReviewSession> {
  const parsed = parseOptions(translationReviewOptionsSchema, options, "startTranslationReview");
  const review = parsed.corpus
    ? await loadCorpusReview({ corpus: parsed.corpus, ...(parsed.languages ? { languages: parsed.languages } : {}) })
    : await loadBenchReview({ bench: parsed.bench!, ...(parsed.languages ? { languages: parsed.languages } : {}) });
  return serve(parsed, "Translation review", (store) => ({
    routes: (api) => mountTranslationRoutes(api, { review, store, outDir: parsed.out }),
    exportAll: () => exportTranslationReview(review, store, parsed.out),
  }));
}

/**
 * Serves the blind rating page: answers without model names in a per-rater order, 1-10 scores
 * and A/B/tie votes saved at once and exported to `human-ratings.csv` (read by
 * `mt-bench-x report --human-ratings`) and FastChat's `human_judgments.json`.
 *
 * @example
 * const session = await startRatingReview({ bench: "mt-bench-x", answers: "answers", lang: "DE", out: "ratings" });
 */
export async function startRatingReview(options: RatingReviewOptions): Promise<ReviewSession> {
  const parsed = parseOptions(ratingReviewOptionsSchema, options, "startRatingReview");
  const review = await loadRatingReview({
    bench: parsed.bench,
    answers: parsed.answers,
    lang: parsed.lang,
    seed: parsed.seed,
    pairwise: parsed.pairwise,
    single: parsed.single,
    ...(parsed.models ? { models: parsed.models } : {}),
    ...(parsed.questions ? { questions: parsed.questions } : {}),
    ...(parsed.judgments ? { judgments: parsed.judgments } : {}),
  });
  if (review.tasks.length === 0) throw new UsageError("nothing to rate: no task for these questions, models and modes");
  return serve(parsed, "Answer rating", (store) => ({
    routes: (api) => mountRatingRoutes(api, { review, store, outDir: parsed.out }),
    exportAll: () => exportRatings(store, parsed.out),
  }));
}
