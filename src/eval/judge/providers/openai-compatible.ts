import OpenAI from "openai";
import { z } from "zod";
import { JudgeServiceError, MissingJudgeApiKeyError, parseRetryAfterHeader } from "../judge-errors";
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
  baseURL: z.url().optional(),
  /** Time one request may take, in milliseconds (default 300 000). */
  timeoutMs: z.number().int().positive().default(300_000),
  /**
   * Reasoning model (`max_completion_tokens`, no `temperature`): `true`, `false`, or `auto` (default),
   * which decides by the model name (see `REASONING_MODEL_PATTERNS`).
   */
  reasoning: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /** Environment to read the key from (default `process.env`). */
  env: z.record(z.string(), z.string().optional()).optional(),
});
export type OpenAICompatibleJudgeOptions = z.input<typeof openAICompatibleJudgeOptionsSchema>;

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);

/**
 * A judge on any OpenAI-compatible chat completions endpoint, called with the `openai` client
 * (its own retries off: the judge engine retries). Messages are FastChat's for OpenAI judges: the
 * prompt's system message, then the filled template as the user message.
 */
export function createOpenAICompatibleJudge(options: OpenAICompatibleJudgeOptions): JudgeProvider {
  const parsed = openAICompatibleJudgeOptionsSchema.parse(options);
  let client: OpenAI | undefined;
  const getClient = (): OpenAI => {
    if (client) return client;
    const apiKey = parsed.apiKey ?? (parsed.env ?? process.env)[parsed.apiKeyEnv];
    if (!apiKey) {
      throw new MissingJudgeApiKeyError(
        `the judge needs an API key: pass the apiKey option or set the ${parsed.apiKeyEnv} environment variable (any non-empty value for a local server without keys)`,
      );
    }
    client = new OpenAI({
      apiKey,
      ...(parsed.baseURL ? { baseURL: parsed.baseURL } : {}),
      maxRetries: 0,
      timeout: parsed.timeoutMs,
    });
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
      const openai = getClient();
      try {
        const completion = await openai.chat.completions.create(
          buildChatCompletionBody({ model: parsed.model, request, reasoning: parsed.reasoning }),
          request.signal ? { signal: request.signal } : undefined,
        );
        return {
          text: completion.choices[0]?.message?.content ?? "",
          inputTokens: completion.usage?.prompt_tokens ?? 0,
          outputTokens: completion.usage?.completion_tokens ?? 0,
          ...(completion.model ? { model: completion.model } : {}),
        };
      } catch (error) {
        throw toJudgeServiceError(error, parsed.model);
      }
    },
  };
}

function toJudgeServiceError(error: unknown, model: string): Error {
  if (error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return new JudgeServiceError(`judge ${model}: ${error.message}`, { isRetryable: true, cause: error });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    const isRetryable = status === undefined || RETRYABLE_STATUS.has(status) || status >= 500;
    const hint = status === 401 || status === 403 ? " (check the API key)" : status === 404 ? " (check the model name and base URL)" : "";
    return new JudgeServiceError(`judge ${model}: HTTP ${status ?? "?"} ${error.message}${hint}`, {
      statusCode: status,
      isRetryable,
      retryAfterMs: parseRetryAfterHeader(error.headers),
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
