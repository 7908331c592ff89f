import type OpenAI from "openai";
import { z } from "zod";
import { parseOptions } from "../../../parse-options";
import { createOpenAIClient, toOpenAICallError } from "../../../remote/openai-client";
import { MissingJudgeApiKeyError } from "../judge-errors";
import type { JudgeProvider, JudgeRequest, JudgeResponse } from "../judge-provider";
import { buildChatCompletionBody } from "../reasoning-models";

/** Options of `createOpenAICompatibleJudge`. */
export const openAICompatibleJudgeOptionsSchema = z.strictObject({
  /** Judge model name sent to the endpoint (`gpt-4`, `meta-llama/Llama-3.1-70B-Instruct`). */
  model: z.string().min(1),
  /** API key; read from the environment variable `apiKeyEnv` at the first call when not given. */
  apiKey: z.string().min(1).optional(),
  /** Environment variable holding the key (default `OPENAI_API_KEY`). */
  apiKeyEnv: z.string().min(1).default("OPENAI_API_KEY"),
  /** Base URL of any OpenAI-compatible endpoint (`http://127.0.0.1:8000/v1`); default OpenAI's. */
  baseUrl: z.url().optional(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
  baseURL: z.url().optional(),
  /**
   * Reasoning model (`max_completion_tokens`, no `temperature`): `true`, `false`, or `auto` (default),
   * which decides by the model name (see `REASONING_MODEL_PATTERNS`).
   */
  reasoning: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /** Environment to read the key from (default `process.env`). */
  env: z.record(z.string(), z.string().optional()).optional(),
});
export type OpenAICompatibleJudgeOptions = z.input<typeof openAICompatibleJudgeOptionsSchema>;

/**
 * A judge on any OpenAI-compatible chat completions endpoint, called with the `openai` client set
 * up by the remote layer (its own retries off: the judge engine retries through the remote layer,
 * which also sets each attempt's time limit). Messages are FastChat's for OpenAI judges: the
 * prompt's system message, then the filled template as the user message.
 */
export function createOpenAICompatibleJudge(options: OpenAICompatibleJudgeOptions): JudgeProvider {
  const parsed = parseOptions(openAICompatibleJudgeOptionsSchema, options, "createOpenAICompatibleJudge", { baseURL: "baseUrl" });
  let client: OpenAI | undefined;
  const getClient = async (): Promise<OpenAI> => {
    if (client) return client;
    const apiKey = parsed.apiKey ?? (parsed.env ?? process.env)[parsed.apiKeyEnv];
    if (!apiKey) {
      throw new MissingJudgeApiKeyError(
        `the judge needs an API key: set the ${parsed.apiKeyEnv} environment variable (any non-empty value for a local server without keys)`,
      );
    }
    client = await createOpenAIClient({ apiKey, ...(parsed.baseUrl ? { baseUrl: parsed.baseUrl } : {}) });
    return client;
  };

  return {
    name: "openai-compatible",
    model: parsed.model,
    batch: {
      client: getClient,
      requestBody: (request) => buildChatCompletionBody({ model: parsed.model, request, reasoning: parsed.reasoning }),
    },
    async doJudge(request: JudgeRequest): Promise<JudgeResponse> {
      const openai = await getClient();
      try {
        const completion = await openai.chat.completions.create(
          buildChatCompletionBody({ model: parsed.model, request, reasoning: parsed.reasoning }),
          { ...(request.signal ? { signal: request.signal } : {}), ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}) },
        );
        return {
          text: completion.choices[0]?.message?.content ?? "",
          inputTokens: completion.usage?.prompt_tokens ?? 0,
          outputTokens: completion.usage?.completion_tokens ?? 0,
          ...(completion.model ? { model: completion.model } : {}),
        };
      } catch (error) {
        throw toOpenAICallError(error, { service: "judge", label: `judge ${parsed.model}`, keyEnv: parsed.apiKeyEnv });
      }
    },
  };
}
