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
  /** Answers one chat completion request (direct or inside a batch); `index` counts requests from 0. */
  handle(body: ChatCompletionRequestBody, context: { index: number; headers: IncomingHttpHeaders; batchId?: string }): OpenAIServerReply | Promise<OpenAIServerReply>;
  /** Token usage reported for a request (default 10 in, 10 out). */
  usage?(body: ChatCompletionRequestBody): { prompt_tokens: number; completion_tokens: number };
  /** The `model` the response names, e.g. a dated snapshot (default: the requested model). */
  snapshot?(model: string): string;
  /**
   * How a batch ends once it leaves `in_progress`: `completed` (default), `expired` (only the first
   * `expireAfter` requests ran), `failed` (validation failed, nothing ran). `index` counts batches from 0.
   */
  batchOutcome?(batch: { id: string; index: number }): { status: "completed" } | { status: "expired"; expireAfter: number } | { status: "failed"; message: string };
}

/** One request the server received (directly, or run as part of a batch). */
export interface OpenAIRequestLog {
  readonly body: ChatCompletionRequestBody;
  readonly headers: IncomingHttpHeaders;
  /** The batch the request ran in, for batched requests. */
  readonly batchId?: string;
}

/** A batch the server holds. */
export interface OpenAIBatchLog {
  id: string;
  inputFileId: string;
  status: "validating" | "in_progress" | "completed" | "expired" | "failed";
  requests: number;
  metadata: Record<string, string> | null;
  completionWindow: string;
  endpoint: string;
  outputFileId: string | null;
  errorFileId: string | null;
  /** `GET /v1/batches/{id}` calls. */
  retrievals: number;
}

export interface OpenAIServer {
  /** Base URL for the openai client: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string;
  readonly requests: OpenAIRequestLog[];
  close(): Promise<void>;
}

/** The server with its Batch API state. */
export interface OpenAIBatchServer extends OpenAIServer {
  /** Batches created (`POST /v1/batches`), in order. */
  readonly batches: OpenAIBatchLog[];
  /** Files uploaded (`POST /v1/files`) or produced by batches, by id. */
  readonly files: Map<string, { filename: string; purpose: string; content: string }>;
  /** While true, batches stay `in_progress` (to kill a client mid-wait). */
  holdBatches: boolean;
}

/**
 * Starts a generic OpenAI-compatible server on 127.0.0.1 (`POST /v1/chat/completions`), whose
 * answers come from `handle`: used by the translation tests and the judge tests. It also speaks the
 * Files and Batches endpoints the Batch API uses (`POST /v1/files`, `GET /v1/files/{id}/content`,
 * `POST /v1/batches`, `GET /v1/batches` (newest first, paginated), `GET /v1/batches/{id}`): each retrieval moves a batch one step, validating ->
 * in_progress -> completed (or expired / failed, see `batchOutcome`), and completing it runs its
 * requests through `handle` into an output file (successes) and an error file (failures).
 *
 * @example
 * const server = await startOpenAIServer({ handle: (body) => "Rating: [[8]]" });
 * const client = new OpenAI({ apiKey: "test", baseURL: server.baseUrl });
 */
export async function startOpenAIServer(options: OpenAIServerOptions): Promise<OpenAIBatchServer> {
  const requests: OpenAIRequestLog[] = [];
  const batches: OpenAIBatchLog[] = [];
  const files = new Map<string, { filename: string; purpose: string; content: string }>();
  let index = 0;
  const usageOf = (body: ChatCompletionRequestBody) => {
    const usage = options.usage?.(body) ?? { prompt_tokens: 10, completion_tokens: 10 };
    return { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
  };
  const completion = (body: ChatCompletionRequestBody, content: string, id: number) => ({
    id: `chatcmpl-${id}`,
    object: "chat.completion",
    created: 1_700_000_000,
    model: options.snapshot?.(body.model) ?? body.model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
    usage: usageOf(body),
  });
  const sendJson = (response: import("node:http").ServerResponse, status: number, value: unknown) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(value));
  };
  const notFound = (response: import("node:http").ServerResponse, what = "Not found") =>
    sendJson(response, 404, { error: { message: what, type: "invalid_request_error" } });

  const batchObject = (batch: OpenAIBatchLog) => ({
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    errors: batch.status === "failed" ? { object: "list", data: [{ code: "invalid_request", message: failures.get(batch.id) ?? "failed", line: 1, param: null }] } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: 1_700_000_000,
    request_counts: { total: batch.requests, completed: completedCounts.get(batch.id) ?? 0, failed: failedCounts.get(batch.id) ?? 0 },
    metadata: batch.metadata,
  });
  const failures = new Map<string, string>();
  const completedCounts = new Map<string, number>();
  const failedCounts = new Map<string, number>();
  let fileCounter = 0;
  const addFile = (filename: string, purpose: string, content: string) => {
    const id = `file-${++fileCounter}`;
    files.set(id, { filename, purpose, content });
    return id;
  };

  /** Runs a batch's requests through `handle` and writes its output and error files. */
  const finishBatch = async (batch: OpenAIBatchLog, headers: IncomingHttpHeaders) => {
    const outcome = options.batchOutcome?.({ id: batch.id, index: batches.indexOf(batch) }) ?? { status: "completed" as const };
    if (outcome.status === "failed") {
      failures.set(batch.id, outcome.message);
      batch.status = "failed";
      return;
    }
    const lines = files.get(batch.inputFileId)!.content.split("\n").filter((line) => line.trim() !== "");
    const run = outcome.status === "expired" ? lines.slice(0, outcome.expireAfter) : lines;
    const output: string[] = [];
    const errors: string[] = [];
    for (const line of run) {
      const { custom_id: customId, body } = JSON.parse(line) as { custom_id: string; body: ChatCompletionRequestBody };
      requests.push({ body, headers, batchId: batch.id });
      const requestIndex = index++;
      let reply = await options.handle(body, { index: requestIndex, headers, batchId: batch.id });
      if (typeof reply === "object" && "delayMs" in reply) reply = reply.reply;
      if (typeof reply === "string") {
        output.push(JSON.stringify({ id: `batch_req_${requestIndex}`, custom_id: customId, response: { status_code: 200, request_id: `req_${requestIndex}`, body: completion(body, reply, requestIndex) }, error: null }));
      } else {
        const status = "drop" in reply ? 500 : reply.status;
        const errorBody = "drop" in reply ? { error: { message: "connection dropped", type: "server_error" } } : (reply.body ?? { error: { message: `status ${status}`, type: "server_error" } });
        errors.push(JSON.stringify({ id: `batch_req_${requestIndex}`, custom_id: customId, response: { status_code: status, request_id: `req_${requestIndex}`, body: errorBody }, error: null }));
      }
    }
    completedCounts.set(batch.id, output.length);
    failedCounts.set(batch.id, errors.length);
    batch.outputFileId = output.length > 0 ? addFile(`${batch.id}_output.jsonl`, "batch_output", output.join("\n") + "\n") : null;
    batch.errorFileId = errors.length > 0 ? addFile(`${batch.id}_error.jsonl`, "batch_output", errors.join("\n") + "\n") : null;
    batch.status = outcome.status;
  };

  const server = await startLoopbackServer(async (request, response) => {
    const text = await readBody(request);
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = url.pathname.replace(/^\/v1/, "");

    if (request.method === "POST" && path === "/files") {
      const form = await new Request(url, { method: "POST", headers: { "content-type": request.headers["content-type"] ?? "" }, body: text }).formData();
      const file = form.get("file");
      const purpose = String(form.get("purpose") ?? "");
      if (!(file instanceof Blob) || purpose !== "batch") {
        sendJson(response, 400, { error: { message: "expected a file and purpose=batch", type: "invalid_request_error" } });
        return;
      }
      const name = (file as File).name ?? "upload.jsonl";
      const id = addFile(name, purpose, await file.text());
      sendJson(response, 200, { id, object: "file", bytes: Buffer.byteLength(files.get(id)!.content), created_at: 1_700_000_000, filename: name, purpose, status: "processed" });
      return;
    }
    const fileContent = /^\/files\/([^/]+)\/content$/.exec(path);
    if (request.method === "GET" && fileContent) {
      const file = files.get(fileContent[1]!);
      if (!file) return notFound(response, `no file ${fileContent[1]}`);
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.end(file.content);
      return;
    }
    if (request.method === "POST" && path === "/batches") {
      const body = JSON.parse(text) as { input_file_id: string; endpoint: string; completion_window: string; metadata?: Record<string, string> };
      const input = files.get(body.input_file_id);
      if (!input) return notFound(response, `no file ${body.input_file_id}`);
      if (body.endpoint !== "/v1/chat/completions" || body.completion_window !== "24h") {
        sendJson(response, 400, { error: { message: "endpoint must be /v1/chat/completions and completion_window 24h", type: "invalid_request_error" } });
        return;
      }
      const batch: OpenAIBatchLog = {
        id: `batch_${batches.length + 1}`,
        inputFileId: body.input_file_id,
        status: "validating",
        requests: input.content.split("\n").filter((line) => line.trim() !== "").length,
        metadata: body.metadata ?? null,
        completionWindow: body.completion_window,
        endpoint: body.endpoint,
        outputFileId: null,
        errorFileId: null,
        retrievals: 0,
      };
      batches.push(batch);
      sendJson(response, 200, batchObject(batch));
      return;
    }
    if (request.method === "GET" && path === "/batches") {
      // Newest first, paginated with `after` and `limit`, as the API lists them.
      const newestFirst = [...batches].reverse();
      const after = url.searchParams.get("after");
      const start = after ? newestFirst.findIndex((batch) => batch.id === after) + 1 : 0;
      const limit = Number(url.searchParams.get("limit") ?? 20);
      const page = newestFirst.slice(start, start + limit);
      sendJson(response, 200, { object: "list", data: page.map(batchObject), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + limit < newestFirst.length });
      return;
    }
    const batchPath = /^\/batches\/([^/]+)$/.exec(path);
    if (request.method === "GET" && batchPath) {
      const batch = batches.find((item) => item.id === batchPath[1]);
      if (!batch) return notFound(response, `no batch ${batchPath[1]}`);
      batch.retrievals += 1;
      // Each look moves the batch one step: validating -> in_progress -> completed (or expired / failed).
      if (batch.status === "validating") batch.status = "in_progress";
      else if (batch.status === "in_progress" && !handle.holdBatches) await finishBatch(batch, request.headers);
      sendJson(response, 200, batchObject(batch));
      return;
    }

    if (request.method !== "POST" || !url.pathname.endsWith("/chat/completions")) {
      notFound(response);
      return;
    }
    const body = JSON.parse(text) as ChatCompletionRequestBody;
    requests.push({ body, headers: request.headers });
    const requestIndex = index++;
    let reply = await options.handle(body, { index: requestIndex, headers: request.headers });
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
    sendJson(response, 200, completion(body, reply, index));
  });
  const handle: OpenAIBatchServer = {
    baseUrl: `${server.url}/v1`,
    requests,
    batches,
    files,
    holdBatches: false,
    close: () => server.close(),
  };
  return handle;
}
