/**
 * The judge spec: what every judge provider implements. A provider sends one system prompt and one
 * user prompt to a chat model and returns its text and token usage; it does not retry (the engine
 * retries in one place, through the remote layer) and it throws `RemoteCallError` on failure.
 */

/** One judge call. */
export interface JudgeRequest {
  systemPrompt: string;
  userPrompt: string;
  /** FastChat judges at temperature 0. */
  temperature: number;
  /** FastChat allows the judge 2048 tokens. */
  maxTokens: number;
  signal?: AbortSignal;
  /** This attempt's time limit in milliseconds (the remote layer doubles it after a timeout). */
  timeoutMs?: number;
}

/** The judge's answer and what it cost in tokens. */
export interface JudgeResponse {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** The model snapshot the API says answered (`model` of the response, e.g. `gpt-4-0613`). */
  model?: string;
}

/** A judge model behind some API. */
export interface JudgeProvider {
  /** Provider name for messages (`openai-compatible`). */
  readonly name: string;
  /** The judge model as written in judgments (`judge[0]`) and in the cache key. */
  readonly model: string;
  doJudge(request: JudgeRequest): Promise<JudgeResponse>;
  /** Present when the provider can be used through the OpenAI Batch API (`--batch`). */
  readonly batch?: JudgeBatchSupport;
}

/** What the Batch API runner needs from a provider: its `openai` client and the request body it would send. */
export interface JudgeBatchSupport {
  client(): Promise<import("openai").default>;
  requestBody(request: Omit<JudgeRequest, "signal">): Record<string, unknown>;
}
