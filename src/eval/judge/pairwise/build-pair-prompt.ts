import { REFERENCE_CATEGORIES, type JudgePrompt, type ModelAnswer, type MtBenchQuestion } from "../../mt-bench-files";
import { fillPromptTemplate } from "../fill-prompt-template";
import { JudgeInputError } from "../judge-errors";

/**
 * FastChat's choice of pairwise prompt (`make_judge_pairwise` in gen_judgment.py): `pair-v2` for
 * turn 1, `pair-v2-multi-turn` for turn 2, and the `pair-math-v1` variants with the reference
 * answer for math, reasoning and coding.
 */
export function selectPairPromptName(category: string, turn: number): string {
  const math = REFERENCE_CATEGORIES.has(category);
  return `${math ? "pair-math-v1" : "pair-v2"}${turn === 2 ? "-multi-turn" : ""}`;
}

/** The pairwise output formats FastChat parses. */
export const PAIR_OUTPUT_FORMATS = ["[[A]]", "[[rating_a,rating_b]]"] as const;
export type PairOutputFormat = (typeof PAIR_OUTPUT_FORMATS)[number];

/** A filled pairwise prompt for one order of the two answers. */
export interface BuiltPairPrompt {
  promptName: string;
  systemPrompt: string;
  userPrompt: string;
  outputFormat: PairOutputFormat;
}

/**
 * Fills the pairwise prompt exactly as FastChat's `run_judge_pair`: `answerA` is shown as
 * assistant A and `answerB` as assistant B; turn 1 gets `{question}`, `{answer_a}`, `{answer_b}`,
 * turn 2 `{question_1}`, `{question_2}`, `{answer_a_1}`, `{answer_b_1}`, `{answer_a_2}`,
 * `{answer_b_2}`; reference prompts also `{ref_answer_1}` (and `{ref_answer_2}` on turn 2).
 * Position swap is the caller's: it fills the prompt twice with A and B exchanged.
 */
export function buildPairPrompt(options: {
  question: MtBenchQuestion;
  answerA: ModelAnswer;
  answerB: ModelAnswer;
  turn: 1 | 2;
  prompts: ReadonlyMap<string, JudgePrompt>;
  reference?: readonly string[];
}): BuiltPairPrompt {
  const { question, turn } = options;
  const promptName = selectPairPromptName(question.category, turn);
  const prompt = options.prompts.get(promptName);
  if (!prompt) {
    throw new JudgeInputError(`the judge prompts have no "${promptName}" (needed for pairwise judging of ${question.category} turn ${turn}); FastChat's judge_prompts.jsonl has it`);
  }
  if (!(PAIR_OUTPUT_FORMATS as readonly string[]).includes(prompt.output_format)) {
    throw new JudgeInputError(`judge prompt "${promptName}" has output_format ${prompt.output_format}; pairwise judging needs [[A]] or [[rating_a,rating_b]]`);
  }
  const a = options.answerA.choices[0]!.turns;
  const b = options.answerB.choices[0]!.turns;
  const values: Record<string, string> = {};
  if (REFERENCE_CATEGORIES.has(question.category)) {
    const reference = options.reference;
    if (!reference || reference.length < turn) {
      throw new JudgeInputError(`question ${question.question_id} (${question.category}) has no reference answer for turn ${turn}`);
    }
    values.ref_answer_1 = reference[0]!;
    if (turn === 2) values.ref_answer_2 = reference[1]!;
  }
  if (turn === 2) {
    Object.assign(values, {
      question_1: question.turns[0]!,
      question_2: question.turns[1]!,
      answer_a_1: a[0]!,
      answer_b_1: b[0]!,
      answer_a_2: a[1]!,
      answer_b_2: b[1]!,
    });
  } else {
    Object.assign(values, { question: question.turns[0]!, answer_a: a[0]!, answer_b: b[0]! });
  }
  return {
    promptName,
    systemPrompt: prompt.system_prompt,
    userPrompt: fillPromptTemplate(prompt.prompt_template, values),
    outputFormat: prompt.output_format as PairOutputFormat,
  };
}
