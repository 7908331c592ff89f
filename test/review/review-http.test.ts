import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRatingReview, startTranslationReview, type ReviewSession } from "../../src/review/start-review";
import { openReviewStore } from "../../src/review/review-store";
import { MAX_BODY_BYTES, TOKEN_HEADER } from "../../src/review/review-server";
import { readCorrections } from "../../src/translate/review-csv";
import { readHumanRatings } from "../../src/eval/report/human-ratings";
import { readMtBenchOverrides } from "../../src/eval/build-mt-bench-x";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { buildRatingInputs, buildReviewCorpus, MT_BENCH_X, RATED_MODELS } from "./review-fixtures";

const temporaryDirectory = useTemporaryDirectories();
const sessions: ReviewSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
});

const base = (session: ReviewSession): string => session.url.slice(0, session.url.indexOf("/?token="));

async function call(session: ReviewSession, method: string, path: string, options: { body?: string; token?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(options.body !== undefined ? { "content-type": "application/json" } : {}), ...options.headers };
  if (options.token !== null) headers[TOKEN_HEADER] = options.token ?? session.token;
  const response = await fetch(`${base(session)}${path}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await response.text();
  return { status: response.status, text, json: (() => { try { return JSON.parse(text) as Record<string, unknown>; } catch { return undefined; } })() };
}

describe("review server over HTTP: token, CSRF, bad input", () => {
  // The corpus is built once and shared by the file's tests: removed after all of them.
  const sharedDirectory = useTemporaryDirectories({ prefix: "review-corpus-", removeAfter: "all" });
  let corpusDirectory: string;
  beforeAll(async () => {
    corpusDirectory = (await buildReviewCorpus(await sharedDirectory())).corpus;
  });

  async function startTranslations(host = "127.0.0.1"): Promise<{ session: ReviewSession; out: string }> {
    const out = await temporaryDirectory();
    const session = await startTranslationReview({ corpus: corpusDirectory, out, host });
    sessions.push(session);
    return { session, out };
  }

  it("answers 401 to every request without the right token, also when listening on 0.0.0.0", async () => {
    for (const host of ["127.0.0.1", "0.0.0.0"]) {
      const { session } = await startTranslations(host);
      expect(session.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{22}$/);
      for (const path of ["/", "/static/app.js", "/static/app.css", "/api/session", "/api/translations/queue", "/nothing-here"]) {
        expect((await call(session, "GET", path, { token: null })).status, path).toBe(401);
        expect((await call(session, "GET", path, { token: "x".repeat(22) })).status, path).toBe(401);
      }
      expect((await call(session, "PUT", "/api/translations/status", { token: null, body: "{}" })).status).toBe(401);
      // The page opens with the token in the URL; then a cookie serves its static files.
      const page = await fetch(session.url);
      expect(page.status).toBe(200);
      const cookie = page.headers.get("set-cookie")!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      const asset = await fetch(`${base(session)}/static/app.js`, { headers: { cookie: cookie.split(";")[0]! } });
      expect(asset.status).toBe(200);
      // ... but the cookie alone never authorises the API (any site could make the browser send it).
      const api = await fetch(`${base(session)}/api/session`, { headers: { cookie: cookie.split(";")[0]! } });
      expect(api.status).toBe(401);
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("refuses cross-origin writes, bad bodies and unknown ids with a clear 4xx and stores nothing", async () => {
    const { session, out } = await startTranslations();
    const item = (await call(session, "GET", `/api/translations/item?lang=de&id=${encodeURIComponent(JSON.parse((await readFile(join(corpusDirectory, "en.jsonl"), "utf8")).split("\n")[0]!).id)}`)).json as { id: string; units: { unit: string }[] };
    const good = { lang: "de", id: item.id, unit: item.units[0]!.unit, translation: "Korrigiert." };
    const attempts: [string, { body: string; headers?: Record<string, string> }, number, RegExp][] = [
      ["cross-origin", { body: JSON.stringify(good), headers: { origin: "http://evil.example" } }, 403, /cross-origin/],
      ["not JSON", { body: JSON.stringify(good), headers: { "content-type": "text/plain" } }, 415, /application\/json/],
      ["malformed JSON", { body: '{"lang": "de", ' }, 400, /malformed JSON/],
      ["unknown id", { body: JSON.stringify({ ...good, id: "no-such-id" }) }, 404, /unknown item "no-such-id"/],
      ["unknown language", { body: JSON.stringify({ ...good, lang: "fr" }) }, 404, /unknown language "fr"/],
      ["unknown segment", { body: JSON.stringify({ ...good, unit: "Not a segment of this item." }) }, 404, /has no segment/],
      ["empty correction", { body: JSON.stringify({ ...good, translation: "  " }) }, 400, /cannot be empty/],
      ["unknown field", { body: JSON.stringify({ ...good, extra: 1 }) }, 400, /extra/],
      ["oversized body", { body: JSON.stringify({ ...good, translation: "x".repeat(MAX_BODY_BYTES + 10) }) }, 413, /over \d+ bytes/],
    ];
    for (const [name, request, status, message] of attempts) {
      const response = await call(session, "PUT", "/api/translations/correction", request);
      expect(response.status, name).toBe(status);
      expect(String(response.json?.error), name).toMatch(message);
    }
    const badStatus = await call(session, "PUT", "/api/translations/status", { body: JSON.stringify({ lang: "de", id: item.id, status: "done" }) });
    expect(badStatus.status).toBe(400);
    expect(await readCorrections(join(out, "corrections.csv"))).toEqual([]);
    expect(await readFile(join(out, "review-status.jsonl"), "utf8")).toBe("");

    // The same request from the page's own origin is stored and exported before it is acknowledged.
    const saved = await call(session, "PUT", "/api/translations/correction", { body: JSON.stringify(good), headers: { origin: base(session) } });
    expect(saved.status).toBe(200);
    expect(await readCorrections(join(out, "corrections.csv"))).toEqual([{ to: "de", source: good.unit, translation: "Korrigiert." }]);
  });

  it("keeps two raters apart under concurrent writes, rejects bad ratings, and never shows an API key", async () => {
    const directory = await temporaryDirectory();
    const { answers, judgments } = await buildRatingInputs(directory);
    const out = join(directory, "ratings");
    const secret = "FAKE-REVIEW-TEST-VALUE-0000";
    process.env.OPENAI_API_KEY = secret;
    process.env.DEEPL_AUTH_KEY = secret;
    try {
      const session = await startRatingReview({ bench: MT_BENCH_X, answers, lang: "DE", questions: ["89", "90"], judgments, pairwise: true, out });
      sessions.push(session);
      const responses: string[] = [];
      const record = async (...args: Parameters<typeof call>) => {
        const response = await call(...args);
        responses.push(response.text);
        return response;
      };
      for (const rater of ["alice", "bob"]) expect((await record(session, "POST", "/api/raters", { body: JSON.stringify({ name: rater }) })).status).toBe(200);
      expect((await record(session, "POST", "/api/raters", { body: JSON.stringify({ name: "<script>" }) })).status).toBe(400);
      const tasks = async (rater: string) => {
        const list: { id: string; kind: string; given: unknown; answers: string[][] }[] = [];
        for (let position = 0; ; position += 1) {
          const task = (await record(session, "GET", `/api/ratings/task?rater=${rater}&position=${position}`)).json as { done?: boolean; id: string; kind: string; given: unknown; answers: string[][] };
          if (task.done) return list;
          list.push(task);
        }
      };
      const [aliceTasks, bobTasks] = await Promise.all([tasks("alice"), tasks("bob")]);
      expect(aliceTasks.length).toBe(12); // 2 questions x 2 turns x (2 models + 1 pair)
      expect(aliceTasks.map((task) => task.id)).not.toEqual(bobTasks.map((task) => task.id)); // each rater has an order of their own
      expect(new Set(aliceTasks.map((task) => task.id))).toEqual(new Set(bobTasks.map((task) => task.id)));
      const single = aliceTasks.filter((task) => task.kind === "single");
      // Both raters at once, every task: nobody's rating replaces another's.
      await Promise.all(
        ["alice", "bob"].flatMap((rater, raterIndex) =>
          single.map((task, index) => record(session, "PUT", "/api/ratings/score", { body: JSON.stringify({ rater, task: task.id, score: ((index + raterIndex) % 10) + 1 }) })),
        ),
      );
      const ratings = await readHumanRatings(join(out, "human-ratings.csv"));
      expect(ratings).toHaveLength(16);
      const csv = await readFile(join(out, "human-ratings.csv"), "utf8");
      expect(csv.split("\n")[0]).toBe("question_id,model,turn,score,lang,rater");
      expect(csv.match(/,alice$/gm)).toHaveLength(8);
      expect(csv.match(/,bob$/gm)).toHaveLength(8);

      const pair = aliceTasks.find((task) => task.kind === "pair")!;
      const bad: [string, string, object, number, RegExp][] = [
        ["score out of range", "/api/ratings/score", { rater: "alice", task: single[0]!.id, score: 11 }, 400, /score/],
        ["unknown task", "/api/ratings/score", { rater: "alice", task: "0123456789abcdef", score: 5 }, 404, /unknown task/],
        ["unknown rater", "/api/ratings/score", { rater: "mallory", task: single[0]!.id, score: 5 }, 404, /unknown rater/],
        ["vote on a single task", "/api/ratings/vote", { rater: "alice", task: single[0]!.id, choice: "A" }, 400, /rates one answer/],
        ["score on a pair task", "/api/ratings/score", { rater: "alice", task: pair.id, score: 5 }, 400, /compares two answers/],
        ["bad choice", "/api/ratings/vote", { rater: "alice", task: pair.id, choice: "C" }, 400, /choice/],
      ];
      for (const [name, path, body, status, message] of bad) {
        const response = await record(session, "PUT", path, { body: JSON.stringify(body) });
        expect(response.status, name).toBe(status);
        expect(String(response.json?.error), name).toMatch(message);
      }
      expect(await readHumanRatings(join(out, "human-ratings.csv"))).toHaveLength(16);
      expect(JSON.parse(await readFile(join(out, "human_judgments.json"), "utf8"))).toEqual([]);

      const vote = await record(session, "PUT", "/api/ratings/vote", { body: JSON.stringify({ rater: "alice", task: pair.id, choice: "tie" }) });
      expect(vote.status).toBe(200);
      const votes = JSON.parse(await readFile(join(out, "human_judgments.json"), "utf8")) as Record<string, unknown>[];
      expect(votes).toEqual([expect.objectContaining({ model_a: RATED_MODELS[1], model_b: RATED_MODELS[0], winner: "tie", judge: "expert_alice", lang: "DE" })]);

      const results = (await record(session, "GET", "/api/ratings/results")).json as { progress: { rater: string; single: number }[]; judgeHuman: { count: number } };
      expect(results.progress).toEqual([{ rater: "alice", single: 8, pair: 1 }, { rater: "bob", single: 8, pair: 0 }]);
      expect(results.judgeHuman.count).toBe(4);
      for (const path of ["/", "/static/app.js", "/api/session"]) responses.push((await call(session, "GET", path.startsWith("/api") ? path : `${path}?token=${session.token}`)).text);
      // Blind: no task shows a model name; and no response carries a key from the environment.
      for (const task of aliceTasks) for (const model of RATED_MODELS) expect(JSON.stringify(task)).not.toContain(model);
      for (const text of responses) expect(text).not.toContain(secret);
    } finally {
      delete process.env.OPENAI_API_KEY;
      delete process.env.DEEPL_AUTH_KEY;
    }
  });

  it("MT-Bench-X: a corrected turn becomes an override that mt-bench-x build reads", async () => {
    const out = await temporaryDirectory();
    const session = await startTranslationReview({ bench: MT_BENCH_X, languages: ["de"], out });
    sessions.push(session);
    const item = (await call(session, "GET", "/api/translations/item?lang=DE&id=81")).json as { units: { unit: string; machine: string }[] };
    expect(item.units.map((unit) => unit.unit)).toEqual(["81_DE#0", "81_DE#1"]);
    const corrected = "Schreiben Sie einen Reiseblog über Hawaii (korrigiert).";
    expect((await call(session, "PUT", "/api/translations/correction", { body: JSON.stringify({ lang: "DE", id: "81", unit: "81_DE#0", translation: corrected }) })).status).toBe(200);
    expect((await call(session, "PUT", "/api/translations/status", { body: JSON.stringify({ lang: "DE", id: "81", status: "localise", note: "rhyme" }) })).status).toBe(200);
    expect(await readMtBenchOverrides(join(out, "overrides.jsonl"))).toEqual([{ question_id: "81_DE", turns: [corrected, item.units[1]!.machine], note: "localised: rhyme" }]);
  });

  it("stores each write durably in WAL mode", async () => {
    const out = await temporaryDirectory();
    const store = openReviewStore({ path: join(out, "review.sqlite") });
    store.addRater("alice");
    store.putRating({ rater: "alice", questionId: "81_DE", lang: "DE", model: "m", turn: 1, score: 7 });
    store.close();
    const reopened = openReviewStore({ path: join(out, "review.sqlite") });
    expect(reopened.listRatings()).toEqual([expect.objectContaining({ rater: "alice", score: 7 })]);
    expect(() => reopened.putRating({ rater: "a", questionId: "1", lang: "DE", model: "m", turn: 1, score: 0 })).toThrow(/CHECK/);
    reopened.close();
  });
});
