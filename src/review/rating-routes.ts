import type { Hono } from "hono";
import { z } from "zod";
import { exportRatings } from "./export-review";
import { computeRatingResults, givenFor, winnerOf, type RatingReview } from "./rating-review";
import { ReviewRequestError, readJsonBody } from "./review-server";
import type { ReviewStore } from "./review-store";

/** A rater's name: shown on the results page and written to the CSV, so kept plain. */
const raterSchema = z.string().regex(/^[\p{L}\p{N}_.-]{1,40}$/u, "a rater name is 1 to 40 letters, digits, '_', '.' or '-'");

/** The `/api` routes of a rating session. */
export function mountRatingRoutes(api: Hono, options: { review: RatingReview; store: ReviewStore; outDir: string }): void {
  const { review, store, outDir } = options;
  let exporting: Promise<unknown> = Promise.resolve();
  const exportNow = (): Promise<unknown> => (exporting = exporting.catch(() => undefined).then(() => exportRatings(store, outDir)));
  const knownRater = (name: string): string => {
    const parsed = raterSchema.safeParse(name);
    if (!parsed.success) throw new ReviewRequestError(400, parsed.error.issues[0]!.message);
    if (!store.listRaters().includes(name)) throw new ReviewRequestError(404, `unknown rater "${name}": add the rater first`);
    return name;
  };
  const knownTask = (id: string) => {
    const task = review.task(id);
    if (!task) throw new ReviewRequestError(404, `unknown task "${id}"`);
    return task;
  };
  const taskView = (rater: string, position: number) => {
    const order = review.orderFor(rater);
    const task = order[position];
    if (!task) return null;
    return review.view(rater, task, position, givenFor(review, { ratings: store.listRatings(), votes: store.listVotes() }, rater, task));
  };

  api.get("/session", (context) =>
    context.json({ mode: "ratings", lang: review.lang, tasks: review.tasks.length, models: review.models.length, raters: store.listRaters(), judgments: review.judgments.length > 0 }),
  );
  api.post("/raters", async (context) => {
    const body = await readJsonBody(context, z.strictObject({ name: raterSchema }));
    store.addRater(body.name);
    return context.json({ saved: true, raters: store.listRaters() });
  });
  api.get("/ratings/task", (context) => {
    const rater = knownRater(context.req.query("rater") ?? "");
    const requested = context.req.query("position");
    let position: number;
    if (requested === undefined || requested === "next") {
      const ratings = store.listRatings();
      const votes = store.listVotes();
      const order = review.orderFor(rater);
      const open = order.findIndex((task) => givenFor(review, { ratings, votes }, rater, task) === null);
      position = open < 0 ? order.length : open;
    } else {
      position = Number(requested);
      if (!Number.isInteger(position) || position < 0 || position > review.tasks.length) throw new ReviewRequestError(400, `position must be 0 to ${review.tasks.length}`);
    }
    const view = taskView(rater, position);
    return context.json(view ?? { done: true, position, total: review.tasks.length });
  });
  api.put("/ratings/score", async (context) => {
    const body = await readJsonBody(context, z.strictObject({ rater: raterSchema, task: z.string().min(1).max(64), score: z.number().int().min(1).max(10) }));
    knownRater(body.rater);
    const task = knownTask(body.task);
    if (task.kind !== "single") throw new ReviewRequestError(400, `task "${body.task}" compares two answers: send a vote`);
    store.putRating({ rater: body.rater, questionId: task.questionId, lang: review.lang, model: task.models[0]!, turn: task.turn, score: body.score });
    await exportNow();
    return context.json({ saved: true });
  });
  api.put("/ratings/vote", async (context) => {
    const body = await readJsonBody(context, z.strictObject({ rater: raterSchema, task: z.string().min(1).max(64), choice: z.enum(["A", "B", "tie"]) }));
    knownRater(body.rater);
    const task = knownTask(body.task);
    if (task.kind !== "pair") throw new ReviewRequestError(400, `task "${body.task}" rates one answer: send a score`);
    store.putVote({ rater: body.rater, questionId: task.questionId, lang: review.lang, modelA: task.models[0]!, modelB: task.models[1]!, turn: task.turn, winner: winnerOf(review, body.rater, task, body.choice) });
    await exportNow();
    return context.json({ saved: true });
  });
  api.get("/ratings/results", (context) => context.json(computeRatingResults(review, store)));
}
