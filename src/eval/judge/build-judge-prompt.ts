import { REFERENCE_CATEGORIES, type JudgePrompt, type ModelAnswer, type MtBenchQuestion } from "../mt-bench-files";
import { fillPromptTemplate } from "./fill-prompt-template";
import { JudgeInputError } from "./judge-errors";

/**
 * FastChat's choice of single-answer prompt (`make_judge_single` in gen_judgment.py): `single-v1`
 * for turn 1, `single-v1-multi-turn` for turn 2, and the `single-math-v1` variants with the
 * reference answer for math, reasoning and coding.
 */
export function selectJudgePromptName(category: string, turn: number): string {
  const math = REFERENCE_CATEGORIES.has(category);
  return `${math ? "single-math-v1" : "single-v1"}${turn === 2 ? "-multi-turn" : ""}`;
}

/** A filled judge prompt. */
export interface BuiltJudgePrompt {
  promptName: string;
  systemPrompt: string;
  userPrompt: string;
  /** FastChat's `output_format`; only `[[rating]]` is supported for single grading. */
  outputFormat: string;
}

/**
 * Fills the judge prompt for one answer and turn exactly as FastChat's `run_judge_single`:
 * turn 1 gets `{question}` and `{answer}`, turn 2 `{question_1}`, `{question_2}`, `{answer_1}` and
 * `{answer_2}`, and reference-based prompts also `{ref_answer_1}` and `{ref_answer_2}`.
 */
export function buildJudgePrompt(options: {
  question: MtBenchQuestion;
  answer: ModelAnswer;
  turn: 1 | 2;
  prompts: ReadonlyMap<string, JudgePrompt>;
  /** Reference turns for math, reasoning and coding (FastChat's `reference_answer/<judge>.jsonl`). */
  reference?: readonly string[];
}): BuiltJudgePrompt {
  const { question, answer, turn } = options;
  const promptName = selectJudgePromptName(question.category, turn);
  const prompt = options.prompts.get(promptName);
  if (!prompt) throw new JudgeInputError(`the judge prompts have no "${promptName}" (needed for ${question.category} turn ${turn})`);
  if (prompt.output_format !== "[[rating]]") {
    throw new JudgeInputError(`judge prompt "${promptName}" has output_format ${prompt.output_format}; single grading needs [[rating]]`);
  }
  const answerTurns = answer.choices[0]!.turns;
  const values: Record<string, string> = {};
  if (REFERENCE_CATEGORIES.has(question.category)) {
    const reference = options.reference;
    if (!reference || reference.length < turn) {
      throw new JudgeInputError(`question ${question.question_id} (${question.category}) has no reference answer for turn ${turn}`);
    }
    values.ref_answer_1 = reference[0]!;
    if (reference[1] !== undefined) values.ref_answer_2 = reference[1];
  }
  if (turn === 2) {
    values.question_1 = question.turns[0]!;
    values.question_2 = question.turns[1]!;
    values.answer_1 = answerTurns[0]!;
    values.answer_2 = answerTurns[1]!;
  } else {
    values.question = question.turns[0]!;
    values.answer = answerTurns[0]!;
  }
  return {
    promptName,
    systemPrompt: prompt.system_prompt,
    userPrompt: fillPromptTemplate(prompt.prompt_template, values),
    outputFormat: prompt.output_format,
  };
}
