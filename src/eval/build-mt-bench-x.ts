import { readFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { fromMarkdown } from "mdast-util-from-markdown";
import { z } from "zod";
import { InputError } from "../errors";
import { writeFileAtomic } from "../io/atomic-write";
import { sha256File } from "../io/hash-file";
import { remoteCallPolicySchema } from "../remote/call-with-retry";
import { translateDocuments, type TranslationReport } from "../translate/translate-documents";
import type { TranslationCache } from "../translate/translation-cache";
import type { TranslationProvider } from "../translate/translation-provider";
import { listPromptPlaceholders } from "./judge/fill-prompt-template";
import {
  benchLanguageDirectory,
  readJudgePrompts,
  readModelAnswers,
  readQuestions,
  splitQuestionId,
  writeMtBenchJsonl,
  type JudgePrompt,
  type ModelAnswer,
  type MtBenchQuestion,
} from "./mt-bench-files";
import { parseOptions } from "../parse-options";

/**
 * One override: text that replaces the translation of one question in one language, for questions
 * that must be localised rather than translated (one that says "answer in English") and for human
 * corrections. `question_id` names the language (`"81_DE"`); `turns` replaces the question's turns,
 * `reference` the reference answer's turns.
 */
export const mtBenchOverrideSchema = z.strictObject({
  question_id: z.string().regex(/^\d+_[A-Za-z]{2}$/, 'expected an id such as "81_DE"'),
  turns: z.array(z.string()).min(1).optional(),
  reference: z.array(z.string()).min(1).optional(),
  /** Why (kept in the manifest). */
  note: z.string().optional(),
});
export type MtBenchOverride = z.infer<typeof mtBenchOverrideSchema>;

/** Reads an overrides JSONL file. */
export async function readMtBenchOverrides(path: string): Promise<MtBenchOverride[]> {
  const text = await readFile(path, "utf8");
  const overrides: MtBenchOverride[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`not valid JSON (${(error as Error).message})`, { file: path, line: index + 1, cause: error });
    }
    const parsed = mtBenchOverrideSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(issue?.message ?? "invalid override", { file: path, line: index + 1, field: issue?.path.join(".") });
    }
    overrides.push(parsed.data);
  });
  return overrides;
}

/** Options of `buildMtBenchX`. */
export const buildMtBenchXOptionsSchema = z.strictObject({
  /** FastChat's English `question.jsonl` (numeric ids). */
  questions: z.string().min(1),
  /** FastChat's `reference_answer/<model>.jsonl`; the model name is the file name (`gpt-4`). */
  references: z.string().min(1),
  /** FastChat's `judge_prompts.jsonl`. */
  judgePrompts: z.string().min(1),
  /** Target languages, ISO 639-1 (`["de", "fr", "it", "es"]`). */
  to: z.array(z.string().regex(/^[a-z]{2}$/, "expected a lowercase ISO 639-1 code")).min(1),
  /** Output directory (the MT-Bench-X layout). */
  out: z.string().min(1),
  provider: z.custom<TranslationProvider>((value) => typeof value === "object" && value !== null && "doTranslate" in value, "expected a TranslationProvider"),
  cache: z.custom<TranslationCache>((value) => typeof value === "object" && value !== null && "get" in value, "expected a TranslationCache"),
  /** Localised questions and human corrections. */
  overrides: z.array(mtBenchOverrideSchema).default([]),
  /** Translation requests in flight (default 4). */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Translate nothing and write nothing; report what would be sent. */
  dryRun: z.boolean().default(false),
  /** Per-language translation progress. */
  onProgress: z.custom<(event: BuildProgressEvent) => void>((value) => typeof value === "function").optional(),
  /** Retry and timeout policy of the translation requests. */
  retry: remoteCallPolicySchema.optional(),
});
export type BuildMtBenchXOptions = z.input<typeof buildMtBenchXOptionsSchema>;

/** Progress of a build: the language being translated and its segments. */
export interface BuildProgressEvent {
  lang: string;
  doneSegments: number;
  totalSegments: number;
}

/** Something the build had to repair; the manifest lists every one. */
export interface BuildIssue {
  lang: string;
  /** `questions/81_DE/turn 1`, `references/101_DE/turn 2`, `judge_prompts/single-v1/prompt_template`. */
  where: string;
  kind: "code-changed" | "placeholders-changed" | "score-format-changed";
  /** What was done: the English text was kept instead of the translation. */
  action: "kept-english";
}

/** What the build did. */
export interface BuildMtBenchXResult {
  languages: string[];
  issues: BuildIssue[];
  translation: Record<string, TranslationReport>;
  outputs: { path: string; rows: number; sha256: string }[];
  overridesApplied: string[];
}

/** Fenced and indented code blocks of a markdown text, as exact source slices. */
export function extractCodeBlocks(markdown: string): string[] {
  // Parsing is costly; most texts have no fence and no indented line, hence no code block.
  if (!/```|~~~|(^|\n)( {4}|\t)/.test(markdown)) return [];
  const blocks: string[] = [];
  const visit = (node: { type: string; position?: { start: { offset?: number }; end: { offset?: number } }; children?: unknown[] }) => {
    if (node.type === "code" && node.position?.start.offset !== undefined && node.position.end.offset !== undefined) {
      blocks.push(markdown.slice(node.position.start.offset, node.position.end.offset));
    }
    for (const child of (node.children ?? []) as (typeof node)[]) visit(child);
  };
  visit(fromMarkdown(markdown) as unknown as Parameters<typeof visit>[0]);
  return blocks;
}

/** The `[[...]]` markers of a judge prompt (`[[rating]]`, `[[5]]`, `[[A]]`), sorted. */
export function listScoreMarkers(text: string): string[] {
  return [...text.matchAll(/\[\[[^\]\n]*\]\]/g)].map((match) => match[0]).sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

// Placeholders and the `[[N]]` score markers travel through translation untouched.
const PROTECT_PATTERNS = [/\{[A-Za-z_][A-Za-z0-9_]*\}/g, /\[\[[^\]\n]*\]\]/g];

interface DocumentSlot {
  where: string;
  english: string;
  kind: "text" | "prompt";
  set(value: string): void;
}

/**
 * Builds MT-Bench-X from FastChat's English MT-Bench: translates questions, reference answers and
 * judge prompts with the translation engine (code never sent, `{placeholders}` and `[[N]]` markers
 * protected), verifies after translation that every code block is byte-identical and every
 * placeholder and score marker survived (else keeps the English text and records an issue), applies
 * overrides, and writes `mt_bench_<LANG>/{question.jsonl, reference_answer/<model>.jsonl,
 * judge_prompts.jsonl, corrections.jsonl}` for English and every target language, then
 * `manifest.json` last.
 */
export async function buildMtBenchX(options: BuildMtBenchXOptions): Promise<BuildMtBenchXResult> {
  const parsed = parseOptions(buildMtBenchXOptionsSchema, options, "buildMtBenchX");
  const questions = await readQuestions(parsed.questions);
  const references = await readModelAnswers(parsed.references);
  const prompts = [...(await readJudgePrompts(parsed.judgePrompts)).values()];
  const referenceModel = basename(parsed.references, ".jsonl");
  const questionIds = new Set(questions.map((question) => String(question.question_id)));
  for (const override of parsed.overrides) {
    const { number } = splitQuestionId(override.question_id);
    if (!questionIds.has(String(number))) throw new InputError(`override for unknown question ${override.question_id}`, { field: "question_id" });
  }

  const result: BuildMtBenchXResult = { languages: [], issues: [], translation: {}, outputs: [], overridesApplied: [] };
  const write = async (lang: string, name: string, rows: unknown[]) => {
    const path = join(benchLanguageDirectory(parsed.out, lang), name);
    const written = await writeMtBenchJsonl(path, rows);
    result.outputs.push({ path: relative(parsed.out, path), rows: written.rows, sha256: written.sha256 });
  };
  const withId = (id: number | string, lang: string) => `${splitQuestionId(id).number ?? id}_${lang}`;

  const languages = ["en", ...parsed.to.filter((lang) => lang !== "en")];
  for (const lang of languages) {
    const upper = lang.toUpperCase();
    const localQuestions: MtBenchQuestion[] = questions.map((question) => ({
      ...question,
      question_id: withId(question.question_id, upper),
      turns: [...question.turns],
      reference: [...(question.reference ?? [])],
    }));
    const localReferences: ModelAnswer[] = references.map((answer) => ({
      ...answer,
      question_id: withId(answer.question_id, upper),
      ...(answer.answer_id !== undefined ? { answer_id: lang === "en" ? answer.answer_id : `${answer.answer_id}${upper}` } : {}),
      choices: answer.choices.map((choice) => ({ ...choice, turns: [...choice.turns] })),
    }));
    const localPrompts: JudgePrompt[] = prompts.map((prompt) => ({ ...prompt }));
    const overrides = new Map(parsed.overrides.filter((override) => override.question_id.endsWith(`_${upper}`)).map((override) => [override.question_id, override]));

    if (lang !== "en") {
      const slots: DocumentSlot[] = [];
      localQuestions.forEach((question) => {
        const id = String(question.question_id);
        const override = overrides.get(id);
        if (!override?.turns) {
          question.turns.forEach((turn, index) =>
            slots.push({ where: `questions/${id}/turn ${index + 1}`, english: turn, kind: "text", set: (value) => (question.turns[index] = value) }),
          );
        }
        question.reference!.forEach((turn, index) =>
          slots.push({ where: `questions/${id}/reference ${index + 1}`, english: turn, kind: "text", set: (value) => (question.reference![index] = value) }),
        );
      });
      localReferences.forEach((answer) => {
        const id = String(answer.question_id);
        if (overrides.get(id)?.reference) return;
        answer.choices[0]!.turns.forEach((turn, index) =>
          slots.push({ where: `references/${id}/turn ${index + 1}`, english: turn, kind: "text", set: (value) => (answer.choices[0]!.turns[index] = value) }),
        );
      });
      localPrompts.forEach((prompt) => {
        for (const field of ["system_prompt", "prompt_template"] as const) {
          slots.push({ where: `judge_prompts/${prompt.name}/${field}`, english: prompt[field], kind: "prompt", set: (value) => (prompt[field] = value) });
        }
      });
      const { translations, report } = await translateDocuments({
        documents: slots.map((slot) => slot.english),
        from: "en",
        to: lang,
        provider: parsed.provider,
        cache: parsed.cache,
        concurrency: parsed.concurrency,
        dryRun: parsed.dryRun,
        protectPatterns: PROTECT_PATTERNS,
        ...(parsed.retry ? { retry: parsed.retry } : {}),
        onProgress: (progress) => parsed.onProgress?.({ lang: upper, doneSegments: progress.doneSegments, totalSegments: progress.totalSegments }),
      });
      result.translation[upper] = report;
      slots.forEach((slot, index) => {
        const translation = translations[index]!;
        const issue = verifyTranslation(slot, translation);
        if (issue) {
          result.issues.push({ lang: upper, where: slot.where, kind: issue, action: "kept-english" });
          slot.set(slot.english);
        } else slot.set(translation);
      });
    }

    const corrections: { question_id: string; category: string; note?: string }[] = [];
    for (const question of localQuestions) {
      const override = overrides.get(String(question.question_id));
      if (!override) continue;
      if (override.turns) question.turns = [...override.turns];
      if (override.reference) {
        const answer = localReferences.find((item) => item.question_id === question.question_id);
        if (answer) answer.choices[0]!.turns = [...override.reference];
        else question.reference = [...override.reference];
      }
      corrections.push({ question_id: String(question.question_id), category: question.category, ...(override.note ? { note: override.note } : {}) });
      result.overridesApplied.push(String(question.question_id));
    }

    result.languages.push(upper);
    if (parsed.dryRun) continue;
    await write(upper, "question.jsonl", localQuestions);
    await write(upper, join("reference_answer", `${referenceModel}.jsonl`), localReferences);
    await write(upper, "judge_prompts.jsonl", localPrompts);
    if (lang !== "en") await write(upper, "corrections.jsonl", corrections);
  }

  if (!parsed.dryRun) {
    const inputs = [];
    for (const path of [parsed.questions, parsed.references, parsed.judgePrompts]) inputs.push({ path, sha256: await sha256File(path) });
    const manifest = {
      kind: "mt-bench-x",
      provider: parsed.provider.id,
      languages: result.languages,
      inputs,
      outputs: result.outputs,
      overridesApplied: result.overridesApplied,
      issues: result.issues,
      translation: Object.fromEntries(
        Object.entries(result.translation).map(([lang, report]) => [
          lang,
          {
            segments: report.uniqueSegments,
            cachedSegments: report.cachedSegments,
            sentSegments: report.sentSegments,
            billedCharacters: report.billedCharacters,
            requests: report.requests,
            qualityIssues: report.issues.length,
          },
        ]),
      ),
    };
    await writeFileAtomic(join(parsed.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  }
  return result;
}

function verifyTranslation(slot: DocumentSlot, translation: string): BuildIssue["kind"] | undefined {
  if (!sameList(extractCodeBlocks(slot.english), extractCodeBlocks(translation))) return "code-changed";
  if (slot.kind === "prompt") {
    if (!sameList(listPromptPlaceholders(slot.english).sort(), listPromptPlaceholders(translation).sort())) return "placeholders-changed";
    if (!sameList(listScoreMarkers(slot.english), listScoreMarkers(translation))) return "score-format-changed";
  }
  return undefined;
}
