import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCorrections } from "../../src/translate/review-csv";
import { cliPath, runBuiltCli } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { buildRatingInputs, buildReviewCorpus, MT_BENCH_X, ROOT } from "./review-fixtures";

/** Debian's package; `.ci/run` installs it when missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Without the networking flags Chromium reaches for update and safe-browsing services, which a closed network refuses.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const VIEWPORT = { width: 1280, height: 860 };
const SCREENSHOTS = join(ROOT, "docs/images");
const SCREENSHOT_STATE = join(SCREENSHOTS, "review-screenshots.json");
/** `UPDATE_REVIEW_SCREENSHOTS=1 npx vitest run test/review/review-browser.test.ts` retakes the screenshots for docs/review.md. */
const UPDATE = process.env.UPDATE_REVIEW_SCREENSHOTS === "1";

interface RunningCli {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `build-datasets review ...` (the built CLI, as a user runs it) and waits for the URL it prints. */
function startReviewCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningCli> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [cliPath, "review", ...args, "--port", "0"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /review: open (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1]!, output: () => output, exited });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`review exited with ${code} before printing its URL:\n${output}`)));
  });
}

async function stopReviewCli(cli: RunningCli): Promise<number | null> {
  cli.child.kill("SIGTERM");
  return (await cli.exited).code;
}

/** What a screenshot shows, as text: compared instead of pixels, which differ with fonts and antialiasing across machines. */
async function pageState(page: Page): Promise<string> {
  const [nav, app] = await Promise.all([page.locator("#nav").innerText(), page.locator("#app").innerText()]);
  return `${nav}\n${app}`.replace(/\s+/g, " ").trim();
}

async function assetsDigest(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of ["index.html", "app.js", "app.css"]) hash.update(await readFile(join(ROOT, "src/review/static", file)));
  return hash.digest("hex").slice(0, 16);
}

function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe("review in headless Chromium", () => {
  let browser: Browser;
  let directory: string;
  const shots: Record<string, { state: string }> = {};

  async function screenshot(page: Page, name: string): Promise<void> {
    shots[name] = { state: await pageState(page) };
    if (UPDATE) await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: false });
  }

  // One directory for the whole browser session, shared by its tests.
  const sharedDirectory = useTemporaryDirectories({ prefix: "review-browser-", removeAfter: "all" });
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    directory = await sharedDirectory();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("curates a translation; a killed server loses no acknowledged edit; the rebuild contains it", async () => {
    const { corpus, cache, input } = await buildReviewCorpus(directory);
    const out = join(directory, "review");
    let cli = await startReviewCli(["translations", "--corpus", corpus, "--out", out]);
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const itemId = (JSON.parse((await readFile(join(corpus, "en.jsonl"), "utf8")).split("\n")[0]!) as { id: string }).id;
    await page.goto(`${cli.url}#/?lang=de&show=all`);
    await page.waitForSelector(`#item[data-id="${itemId}"]`);
    // The token leaves the address bar at once.
    expect(page.url()).not.toContain("token=");
    // Code is highlighted and protected spans are marked.
    expect(await page.locator('section[aria-label="source"] pre.hljs').count()).toBeGreaterThan(0);
    expect(await page.locator('section[aria-label="segments"] mark.protected').count()).toBeGreaterThan(0);

    const editor = page.locator('section[aria-label="segments"] textarea').first();
    const unit = (await editor.getAttribute("data-unit"))!;
    const edit = "Wie kehre ich eine Liste in Python um, ohne das Original zu verändern? (von Hand korrigiert)";
    await editor.fill(edit);
    await page.waitForSelector('#save-state:text-is("Saved")');
    // The next edit is acknowledged too: mark the item for localisation, with a note.
    await page.fill("#status-note", "example names stay English");
    await page.click("#localise");
    await page.waitForSelector(".chip.localise");
    await page.waitForSelector('#save-state:text-is("Saved")');

    // Kill the server as a crash would: no handler runs, no file is flushed on the way out.
    cli.child.kill("SIGKILL");
    expect((await cli.exited).signal).toBe("SIGKILL");

    cli = await startReviewCli(["translations", "--corpus", corpus, "--out", out]);
    await page.goto(`${cli.url}#/?lang=de&show=all&id=${encodeURIComponent(itemId)}`);
    await page.waitForSelector(`#item[data-id="${itemId}"]`);
    expect(await page.locator('section[aria-label="segments"] textarea').first().inputValue()).toBe(edit);
    expect(await page.locator('section[aria-label="translation"]').innerText()).toContain(edit);
    expect(await page.locator(".chip.localise").count()).toBeGreaterThan(0);
    await screenshot(page, "review-translations.png");
    expect(await stopReviewCli(cli)).toBe(0);

    expect(await readCorrections(join(out, "corrections.csv"))).toEqual([{ to: "de", source: unit, translation: edit }]);
    expect(JSON.parse((await readFile(join(out, "review-status.jsonl"), "utf8")).trim())).toMatchObject({ id: itemId, lang: "de", status: "localise", note: "example names stay English" });

    // The rebuild: the same translation replayed from the cache, with the corrections applied.
    const rebuilt = join(directory, "rebuilt");
    const run = runBuiltCli(["translate", "--input", input, "--to", "de", "--provider", "cache", "--cache", cache, "--apply-corrections", join(out, "corrections.csv"), "--out", rebuilt, "--quiet"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const german = (await readFile(join(rebuilt, "de.jsonl"), "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line) as { id: string; messages: { content: string }[] });
    expect(german.find((record) => record.id === itemId)!.messages.map((message) => message.content).join("\n")).toContain(edit);
    await context.close();
  });

  it("two raters rate blind; the results page and the report show judge-human agreement from their ratings", async () => {
    const { answers, judgments } = await buildRatingInputs(directory);
    const out = join(directory, "ratings");
    const secret = "FAKE-BROWSER-TEST-VALUE-1234";
    const cli = await startReviewCli(
      ["ratings", "--bench", MT_BENCH_X, "--answers", answers, "--lang", "DE", "--questions", "89,90", "--pairwise", "--judgments", judgments, "--seed", "7", "--out", out],
      { OPENAI_API_KEY: secret },
    );
    const quality = (text: string): number => Number(/Qualität: (\d+)/.exec(text)![1]);

    const rate = async (rater: string, lower: number): Promise<Page> => {
      const context = await browser.newContext({ viewport: VIEWPORT });
      const page = await context.newPage();
      page.on("response", async (response) => expect(await response.text().catch(() => "")).not.toContain(secret));
      await page.goto(cli.url);
      await page.fill("#rater-name", rater);
      await page.click("#start");
      for (let step = 0; ; step += 1) {
        await page.locator(`#done, #task h2:text-is("Task ${step + 1} of 12")`).first().waitFor();
        if (await page.locator("#done").count()) break;
        if (rater === "alice" && step < 2 && (await page.getAttribute("#task", "data-kind")) === "single" && !shots["review-rating.png"]) await screenshot(page, "review-rating.png");
        const kind = await page.getAttribute("#task", "data-kind");
        if (kind === "single") {
          const text = await page.locator('section[aria-label="conversation"] .message').last().innerText();
          const score = Math.max(1, quality(text) - lower);
          await page.click(`button[data-score="${score}"]`);
        } else {
          if (rater === "alice" && !shots["review-pair.png"]) await screenshot(page, "review-pair.png");
          const a = quality(await page.locator('section[aria-label="assistant A"] .message').last().innerText());
          const b = quality(await page.locator('section[aria-label="assistant B"] .message').last().innerText());
          await page.click(`button[data-choice="${a > b ? "A" : b > a ? "B" : "tie"}"]`);
        }
      }
      return page;
    };
    // Both raters at the same time.
    const [alice] = await Promise.all([rate("alice", 0), rate("bob", 1)]);
    await alice.goto(`${cli.url}#/results`);
    await alice.waitForSelector("#judge-human table");
    const cells = await alice.locator("#judge-human td").allInnerTexts();
    expect(cells[0]).toBe("4");
    await screenshot(alice, "review-results.png");
    expect(await stopReviewCli(cli)).toBe(0);

    const csv = (await readFile(join(out, "human-ratings.csv"), "utf8")).trimEnd().split("\n");
    expect(csv).toHaveLength(1 + 2 * 8);
    expect(csv).toContain("89_DE,opengptx-debug-7B-24EU-3T-honey,1,9,DE,alice");
    expect(csv).toContain("89_DE,opengptx-debug-7B-24EU-3T-honey,1,8,DE,bob");
    const votes = JSON.parse(await readFile(join(out, "human_judgments.json"), "utf8")) as { winner: string; judge: string; question_id: string; turn: number }[];
    expect(votes).toHaveLength(8);
    // baseline-7b sorts first (model_a); by the fixture's qualities the other model wins every turn.
    expect(votes.filter((vote) => vote.judge === "expert_alice").map((vote) => `${vote.question_id}/${vote.turn}:${vote.winner}`).sort()).toEqual([
      "89_DE/1:model_b",
      "89_DE/2:model_b",
      "90_DE/1:model_b",
      "90_DE/2:model_b",
    ]);

    const reportDirectory = join(directory, "report");
    const report = runBuiltCli(["mt-bench-x", "report", "--judgments", judgments, "--human-ratings", join(out, "human-ratings.csv"), "--out", reportDirectory, "--quiet"]);
    expect(report.stderr).toBe("");
    expect(report.status).toBe(0);
    const json = JSON.parse(await readFile(join(reportDirectory, "report.json"), "utf8")) as { agreement: { count: number; pearson: number; unmatched: number } };
    // Judge: 89/1 9, 89/2 10, 90/1 8, 90/2 2; humans (mean of alice and bob): 8.5, 8.5, 6.5, 2.5.
    expect(json.agreement.count).toBe(4);
    expect(json.agreement.unmatched).toBe(4); // baseline-7b was never judged
    expect(json.agreement.pearson).toBeGreaterThan(0.9);
    expect(await readFile(join(reportDirectory, "report.md"), "utf8")).toContain("Judge vs human agreement");
  });

  it("the screenshots in docs/review.md are current", async () => {
    if (UPDATE) {
      await mkdir(SCREENSHOTS, { recursive: true });
      await writeFile(SCREENSHOT_STATE, JSON.stringify({ assets: await assetsDigest(), viewport: VIEWPORT, screenshots: shots }, null, 2) + "\n");
    }
    const committed = JSON.parse(await readFile(SCREENSHOT_STATE, "utf8")) as { assets: string; viewport: typeof VIEWPORT; screenshots: Record<string, { state: string }> };
    const hint = "retake them: UPDATE_REVIEW_SCREENSHOTS=1 npx vitest run test/review/review-browser.test.ts";
    expect(committed.assets, `the page's files changed since the screenshots were taken; ${hint}`).toBe(await assetsDigest());
    expect(Object.keys(shots).sort(), hint).toEqual(Object.keys(committed.screenshots).sort());
    for (const [name, { state }] of Object.entries(shots)) {
      expect(state, `${name} no longer shows what the page shows; ${hint}`).toBe(committed.screenshots[name]!.state);
      expect(pngSize(await readFile(join(SCREENSHOTS, name))), name).toEqual(committed.viewport);
    }
    const documented = await readFile(join(ROOT, "docs/review.md"), "utf8");
    for (const name of await readdir(SCREENSHOTS)) if (name.startsWith("review-") && name.endsWith(".png")) expect(documented, name).toContain(`images/${name}`);
  });
});
