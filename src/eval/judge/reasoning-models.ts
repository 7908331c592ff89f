import type { JudgeRequest } from "./judge-provider";

/**
 * Reasoning models (OpenAI's o-series and GPT-5) reject `max_tokens` and any `temperature` but the
 * default: they take `max_completion_tokens`, which also bounds their hidden reasoning tokens.
 * Matched on the model name, case-insensitively, after an optional `provider/` prefix.
 */
export const REASONING_MODEL_PATTERNS: readonly RegExp[] = [/^o\d+(-|$)/i, /^gpt-5(\.\d+)?(-|$)/i, /^gpt-oss(-|$)/i];

/** Whether `model` looks like a reasoning model (`o1`, `o3-mini`, `o4-mini-2025-04-16`, `gpt-5`, `openai/gpt-5-mini`). */
export function isReasoningModel(model: string): boolean {
  const name = model.slice(model.lastIndexOf("/") + 1);
  return REASONING_MODEL_PATTERNS.some((pattern) => pattern.test(name));
}

/** `true`/`false` force the parameters; `auto` decides by the model name. */
export type ReasoningSetting = boolean | "auto";

/**
 * The body of one chat completion request as FastChat sends it to an OpenAI judge (system prompt,
 * then the filled template as the user message, `n: 1`), with the parameters a reasoning model accepts.
 * The same body goes to `/v1/chat/completions` directly and into a Batch API input file.
 */
export function buildChatCompletionBody(options: {
  model: string;
  request: Pick<JudgeRequest, "systemPrompt" | "userPrompt" | "temperature" | "maxTokens">;
  reasoning: ReasoningSetting;
}): {
  model: string;
  messages: { role: "system" | "user"; content: string }[];
  n: number;
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
} {
  const { model, request } = options;
  const reasoning = options.reasoning === "auto" ? isReasoningModel(model) : options.reasoning;
  return {
    model,
    messages: [
      { role: "system", content: request.systemPrompt },
      { role: "user", content: request.userPrompt },
    ],
    n: 1,
    ...(reasoning ? { max_completion_tokens: request.maxTokens } : { temperature: request.temperature, max_tokens: request.maxTokens }),
  };
}
