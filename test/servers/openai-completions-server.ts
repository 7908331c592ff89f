import { applyFault, readBody, type HttpFault } from "./http-fault";
import { startLoopbackServer } from "./loopback-server";

/** The JSON body of a `POST /v1/completions` request as vLLM and SGLang take it (prompt as token ids). */
export interface CompletionRequestBody {
  model: string;
  prompt: number[] | string;
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  stop_token_ids?: number[];
  [key: string]: unknown;
}

/** One request the server received, with the status it answered. */
export interface CompletionRequestLog {
  readonly body: CompletionRequestBody;
  readonly status: number;
}

export interface CompletionsServerOptions {
  /** Served model names listed by `GET /v1/models` (the base model and every adapter); others get 404. */
  models: string[];
  /** A fault for request `index` (counting from 0), e.g. 429 or 503; none by default. */
  fault?(index: number, body: CompletionRequestBody): HttpFault | undefined;
  /** Called after each answered request with the number answered so far (a test kills the server here). */
  onAnswered?(answered: number): void;
}

export interface CompletionsServer {
  /** Base URL for the openai client: `http://127.0.0.1:<port>/v1`. */
  readonly baseURL: string;
  /** Every request, in arrival order (faulted ones too). */
  readonly requests: CompletionRequestLog[];
  close(): Promise<void>;
}

/** The server's deterministic answer to a prompt: the model's name and a digest of the prompt's ids. */
export function completionText(model: string, prompt: number[] | string): string {
  let hash = 0x811c9dc5;
  for (const part of Array.isArray(prompt) ? prompt : [...prompt].map((character) => character.codePointAt(0)!)) {
    hash ^= part;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return ` ${model} answers ${hash.toString(16)} `;
}

/**
 * Starts a local OpenAI-compatible completions server on 127.0.0.1, as vLLM / SGLang speak it:
 * `GET /v1/models`, `POST /v1/completions` with the prompt as token ids. It records every request,
 * answers deterministically (text from the model name and the prompt ids), and injects the faults
 * the test asks for.
 */
export async function startCompletionsServer(options: CompletionsServerOptions): Promise<CompletionsServer> {
  const requests: CompletionRequestLog[] = [];
  let answered = 0;
  const server = await startLoopbackServer(async (request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method === "GET" && path === "/v1/models") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ object: "list", data: options.models.map((id) => ({ id, object: "model", owned_by: "test" })) }));
      return;
    }
    if (request.method !== "POST" || path !== "/v1/completions") {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `no route ${request.method} ${path}` } }));
      return;
    }
    const body = JSON.parse(await readBody(request)) as CompletionRequestBody;
    const index = requests.length;
    const fault = options.fault?.(index, body);
    if (fault && "status" in fault) {
      requests.push({ body, status: fault.status });
      await applyFault(fault, request, response);
      return;
    }
    if (!options.models.includes(body.model)) {
      requests.push({ body, status: 404 });
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `The model \`${body.model}\` does not exist.`, type: "NotFoundError", code: 404 } }));
      return;
    }
    if (await applyFault(fault, request, response)) {
      requests.push({ body, status: 0 });
      return;
    }
    requests.push({ body, status: 200 });
    const text = completionText(body.model, body.prompt);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: `cmpl-${index}`,
        object: "text_completion",
        created: 0,
        model: body.model,
        choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: Array.isArray(body.prompt) ? body.prompt.length : 1, completion_tokens: 4, total_tokens: 0 },
      }),
    );
    answered += 1;
    options.onAnswered?.(answered);
  });
  return { baseURL: `${server.url}/v1`, requests, close: () => server.close() };
}
