import type { Hono } from "hono";
import { z } from "zod";
import { exportTranslationReview } from "./export-review";
import { ReviewRequestError, readJsonBody } from "./review-server";
import type { ReviewStore } from "./review-store";
import { listUnits, viewTranslationItem, type TranslationReviewSource } from "./translation-review";

/** Longest correction accepted (code points are not counted: the body limit bounds it too). */
const MAX_TEXT = 100_000;

const correctionSchema = z.strictObject({
  lang: z.string().min(1).max(16),
  id: z.string().min(1).max(1000),
  unit: z.string().min(1).max(MAX_TEXT),
  translation: z.string().max(MAX_TEXT).refine((text) => text.trim() !== "", "a correction cannot be empty; use reset to go back to the machine translation"),
});
const resetSchema = z.strictObject({ lang: z.string().min(1).max(16), id: z.string().min(1).max(1000), unit: z.string().min(1).max(MAX_TEXT) });
const statusSchema = z.strictObject({
  lang: z.string().min(1).max(16),
  id: z.string().min(1).max(1000),
  status: z.enum(["accepted", "localise"]).nullable(),
  note: z.string().max(2000).default(""),
});

/** The `/api` routes of a translation review; every write is stored, then exported, then acknowledged. */
export function mountTranslationRoutes(api: Hono, options: { review: TranslationReviewSource; store: ReviewStore; outDir: string }): void {
  const { review, store, outDir } = options;
  let exporting: Promise<unknown> = Promise.resolve();
  // One export at a time, in order: the files always show the latest state.
  const exportNow = (): Promise<unknown> => (exporting = exporting.catch(() => undefined).then(() => exportTranslationReview(review, store, outDir)));
  const knownItem = (lang: string, id: string): void => {
    if (!review.languages.includes(lang)) throw new ReviewRequestError(404, `unknown language "${lang}"; this review has ${review.languages.join(", ")}`);
    if (review.translation(lang, id) === undefined) throw new ReviewRequestError(404, `unknown item "${id}" in ${lang}`);
  };

  api.get("/session", (context) =>
    context.json({ mode: "translations", kind: review.kind, from: review.from, languages: review.languages, flagKinds: review.flagKinds, items: review.ids.length }),
  );
  api.get("/translations/queue", (context) => {
    const lang = context.req.query("lang") ?? review.languages[0]!;
    const flag = context.req.query("flag") ?? "";
    const show = context.req.query("show") ?? "flagged";
    if (!review.languages.includes(lang)) throw new ReviewRequestError(404, `unknown language "${lang}"`);
    const statuses = new Map(store.listItemStatuses().filter((row) => row.lang === lang).map((row) => [row.itemId, row.status]));
    const corrected = new Set(store.listCorrections().filter((row) => row.lang === lang).map((row) => row.itemId));
    const items = review.ids
      .map((id) => ({ id, flags: [...new Set(review.flags(lang, id).map((item) => item.kind))], status: statuses.get(id) ?? null, corrected: corrected.has(id) }))
      .filter((item) => (flag ? item.flags.includes(flag) : show === "all" || item.flags.length > 0))
      .filter((item) => show !== "open" || item.status === null);
    return context.json({ lang, items, reviewed: statuses.size, corrected: corrected.size });
  });
  api.get("/translations/item", (context) => {
    const lang = context.req.query("lang") ?? "";
    const id = context.req.query("id") ?? "";
    knownItem(lang, id);
    return context.json(viewTranslationItem(review, store, lang, id));
  });
  api.put("/translations/correction", async (context) => {
    const body = await readJsonBody(context, correctionSchema);
    knownItem(body.lang, body.id);
    const unit = listUnits(review, new Map(), body.lang, body.id).find((candidate) => candidate.unit === body.unit);
    if (!unit) throw new ReviewRequestError(404, `item "${body.id}" has no segment ${JSON.stringify(body.unit.slice(0, 80))}`);
    store.putCorrection({ lang: body.lang, unit: body.unit, translation: body.translation, original: unit.machine ?? "", itemId: body.id, turn: unit.turn, segment: unit.segment });
    await exportNow();
    return context.json({ saved: true, item: viewTranslationItem(review, store, body.lang, body.id) });
  });
  api.delete("/translations/correction", async (context) => {
    const body = await readJsonBody(context, resetSchema);
    knownItem(body.lang, body.id);
    store.deleteCorrection(body.lang, body.unit);
    await exportNow();
    return context.json({ saved: true, item: viewTranslationItem(review, store, body.lang, body.id) });
  });
  api.put("/translations/status", async (context) => {
    const body = await readJsonBody(context, statusSchema);
    knownItem(body.lang, body.id);
    if (body.status === null) store.deleteItemStatus(body.id, body.lang);
    else store.putItemStatus({ itemId: body.id, lang: body.lang, status: body.status, note: body.note });
    await exportNow();
    return context.json({ saved: true, item: viewTranslationItem(review, store, body.lang, body.id) });
  });
}
