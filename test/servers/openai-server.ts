import type { IncomingHttpHeaders } from "node:http";
import { applyFault, readBody, type HttpFault } from "./http-fault";
import { startLoopbackServer } from "./loopback-server";

/** The JSON body of a `POST /v1/chat/completions` request. */
export interface ChatCompletionRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  [key: string]: unknown;
}

/**
 * What `handle` returns: the assistant's reply text, a raw HTTP answer (`{ status, headers?, body? }`),
 * a dropped connection (`{ drop: true }`), or a delay followed by a reply (`{ delayMs, reply }`).
 */
export type OpenAIServerReply =
  | string
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { drop: true }
  | { delayMs: number; reply: string };

export interface OpenAIServerOptions {
  /** Answers one chat completion request; `index` counts requests from 0. */
  handle(body: ChatCompletionRequestBody, context: { index: number; headers: IncomingHttpHeaders }): OpenAIServerReply | Promise<OpenAIServerReply>;
}

/** One request the server received. */
export interface OpenAIRequestLog {
  readonly body: ChatCompletionRequestBody;
  readonly headers: IncomingHttpHeaders;
}

export interface OpenAIServer {
  /** Base URL for the openai client: `http://127.0.0.1:<port>/v1`. */
  readonly baseURL: string;
  readonly requests: OpenAIRequestLog[];
  close(): Promise<void>;
}

/**
 * Starts a generic OpenAI-compatible server on 127.0.0.1 (`POST /v1/chat/completions`), whose
 * answers come from `handle`: used by the translation tests and reusable by the judge tests.
 *
 * @example
 * const server = await startOpenAIServer({ handle: (body) => "Rating: [[8]]" });
 * const client = new OpenAI({ apiKey: "test", baseURL: server.baseURL });
 */
export async function startOpenAIServer(options: OpenAIServerOptions): Promise<OpenAIServer> {
  const requests: OpenAIRequestLog[] = [];
  let index = 0;
  const server = await startLoopbackServer(async (request, response) => {
    const text = await readBody(request);
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method !== "POST" || !url.pathname.endsWith("/chat/completions")) {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "Not found", type: "invalid_request_error" } }));
      return;
    }
    const body = JSON.parse(text) as ChatCompletionRequestBody;
    requests.push({ body, headers: request.headers });
    let reply = await options.handle(body, { index: index++, headers: request.headers });
    if (typeof reply === "object" && "delayMs" in reply) {
      await applyFault({ delayMs: reply.delayMs }, request, response);
      reply = reply.reply;
    }
    if (typeof reply === "object") {
      const fault: HttpFault =
        "drop" in reply
          ? reply
          : { status: reply.status, headers: reply.headers ?? {}, body: reply.body ?? { error: { message: `status ${reply.status}`, type: "server_error" } } };
      await applyFault(fault, request, response);
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: `chatcmpl-${index}`,
        object: "chat.completion",
        created: 1_700_000_000,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      }),
    );
  });
  return {
    baseURL: `${server.url}/v1`,
    requests,
    close: () => server.close(),
  };
}
