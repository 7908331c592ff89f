import { createHash } from "node:crypto";
import OpenAI, { toFile } from "openai";
import { z } from "zod";
import { isRetryableStatus, RemoteAuthError, RemoteCallError } from "../../../remote/remote-call-error";
import { readJudgeBatchState, writeJudgeBatchState, type JudgeBatchRecord } from "./judge-batch-state";

/** OpenAI's limits of one batch input file (requests and bytes); larger sets are split. */
export const OPENAI_BATCH_MAX_REQUESTS = 50_000;
export const OPENAI_BATCH_MAX_BYTES = 200 * 1024 * 1024;

/** Batch settings of a judge run. */
export const judgeBatchOptionsSchema = z.strictObject({
  /** State file recording created batches (default `<out>/judge-batches.json`). */
  statePath: z.string().min(1).optional(),
  /** Time between two status checks, in milliseconds (default 30 000). */
  pollIntervalMs: z.number().int().min(0).default(30_000),
  /** Requests per input file (OpenAI: at most 50 000). */
  maxRequestsPerFile: z.number().int().min(1).max(OPENAI_BATCH_MAX_REQUESTS).default(OPENAI_BATCH_MAX_REQUESTS),
  /** Bytes per input file (OpenAI: at most 200 MB). */
  maxBytesPerFile: z.number().int().min(1).max(OPENAI_BATCH_MAX_BYTES).default(OPENAI_BATCH_MAX_BYTES),
  /** Only these judge models go through the Batch API (default: every judge that supports it). */
  judges: z.array(z.string().min(1)).optional(),
});
export type JudgeBatchOptions = z.input<typeof judgeBatchOptionsSchema>;

/** One line of a Batch API input file. */
export interface BatchRequestLine {
  custom_id: string;
  method: "POST";
  url: "/v1/chat/completions";
  body: Record<string, unknown>;
}

/** The outcome of one batched request. */
export interface BatchRequestResult {
  customId: string;
  batchId: string;
  /** The judge's text, when the request succeeded. */
  text?: string;
  inputTokens: number;
  outputTokens: number;
  model?: string;
  /** Why there is no text (the request failed, or the batch expired, failed or was cancelled before it). */
  error?: string;
}

/** A step worth telling the user about. */
export interface JudgeBatchEvent {
  kind: "created" | "resumed" | "status" | "collected";
  batchId: string;
  status?: string;
  requests: number;
  completed?: number;
  failed?: number;
}

const TERMINAL_STATUSES = new Set(["completed", "expired", "failed", "cancelled"]);
/** Statuses of a batch that will never deliver more results: its requests may be submitted again. */
const SPENT_STATUSES = new Set(["expired", "failed", "cancelled", "cancelling"]);
/** How many of the account's most recent batches are searched for one this run already created. */
const RECOVERY_SEARCH_LIMIT = 1000;

/** The identity of one input file's request set, stored in the batch's metadata. */
export function batchRequestSetHash(customIds: readonly string[]): string {
  return createHash("sha256").update(customIds.join("\n")).digest("hex");
}

/**
 * A batch created for exactly these requests whose id never reached the state file (a kill between
 * `POST /v1/batches` answering and the state write): found by the request-set hash in its metadata.
 */
async function findUnrecordedBatch(client: OpenAI, requestSet: string, known: ReadonlySet<string>): Promise<OpenAI.Batches.Batch | undefined> {
  let seen = 0;
  for await (const batch of client.batches.list({ limit: 100 })) {
    if (++seen > RECOVERY_SEARCH_LIMIT) return undefined;
    if (known.has(batch.id) || SPENT_STATUSES.has(batch.status)) continue;
    if (batch.metadata?.request_set === requestSet) return batch;
  }
  return undefined;
}

/** Splits request lines into input files that respect the request and byte limits. */
export function splitBatchRequests(lines: readonly BatchRequestLine[], limits: { maxRequests: number; maxBytes: number }): BatchRequestLine[][] {
  const files: BatchRequestLine[][] = [];
  let current: BatchRequestLine[] = [];
  let bytes = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(JSON.stringify(line)) + 1;
    if (size > limits.maxBytes) throw new RangeError(`one batch request (${line.custom_id}) is ${size} bytes, above the ${limits.maxBytes} bytes allowed per file`);
    if (current.length > 0 && (current.length >= limits.maxRequests || bytes + size > limits.maxBytes)) {
      files.push(current);
      current = [];
      bytes = 0;
    }
    current.push(line);
    bytes += size;
  }
  if (current.length > 0) files.push(current);
  return files;
}

/** Reads a Batch API output or error file (JSONL) into results. */
export function parseBatchOutput(text: string, batchId: string): BatchRequestResult[] {
  const results: BatchRequestResult[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const row = JSON.parse(line) as {
      custom_id: string;
      response?: { status_code?: number; body?: any } | null;
      error?: { code?: string; message?: string } | null;
    };
    const status = row.response?.status_code;
    const body = row.response?.body;
    if (row.error || status === undefined || status >= 400 || !body?.choices) {
      const message = row.error?.message ?? body?.error?.message ?? "no response";
      results.push({ customId: row.custom_id, batchId, inputTokens: 0, outputTokens: 0, error: `batch ${batchId}: ${status !== undefined ? `HTTP ${status} ` : ""}${message}` });
      continue;
    }
    results.push({
      customId: row.custom_id,
      batchId,
      text: body.choices[0]?.message?.content ?? "",
      inputTokens: body.usage?.prompt_tokens ?? 0,
      outputTokens: body.usage?.completion_tokens ?? 0,
      ...(typeof body.model === "string" ? { model: body.model } : {}),
    });
  }
  return results;
}

function toServiceError(error: unknown, what: string): unknown {
  if (error instanceof OpenAI.APIError) {
    const hint = error.status === 401 || error.status === 403 ? " (check the API key)" : error.status === 404 ? " (does the endpoint speak the Batch API? vLLM and most local servers do not: leave that judge out of --batch)" : "";
    const ErrorClass = error.status === 401 || error.status === 403 ? RemoteAuthError : RemoteCallError;
    return new ErrorClass(`${what}: HTTP ${error.status ?? "?"} ${error.message}${hint}`, {
      service: "judge",
      ...(error.status === undefined ? {} : { statusCode: error.status }),
      isRetryable: isRetryableStatus(error.status),
      cause: error,
    });
  }
  return error;
}

/**
 * Sends judge requests through the OpenAI Batch API and hands back every result. For the requests
 * not already in a recorded batch: writes them as JSONL input files (split at the API's limits),
 * uploads each (`POST /v1/files`, purpose `batch`), creates the batch (`POST /v1/batches`,
 * `completion_window: 24h`) and records its id in the state file at once. Then polls every
 * recorded batch that holds wanted requests until it ends, downloads its output and error files and
 * passes the results to `onResults` (which caches them) before marking the batch collected. A run
 * killed at any point and started again follows the same batches: it never creates a second batch
 * for requests already submitted (a batch whose id the kill kept out of the state file is found by
 * the hash of its request set, stored in the batch's metadata). Requests of an expired, failed or cancelled batch that have no
 * result come back as errors; a later run submits them again.
 */
export async function runJudgeBatches(options: {
  client: OpenAI;
  judgeModel: string;
  requests: readonly BatchRequestLine[];
  statePath: string;
  pollIntervalMs: number;
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
  onResults: (results: BatchRequestResult[]) => Promise<void>;
  onEvent?: (event: JudgeBatchEvent) => void;
  sleep?: (milliseconds: number) => Promise<void>;
  now?: () => number;
}): Promise<{ batchIds: string[]; created: number; resumed: number }> {
  const { client, statePath } = options;
  const sleep = options.sleep ?? ((milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
  const now = options.now ?? (() => Date.now() / 1000);
  const state = await readJudgeBatchState(statePath);
  const wanted = new Set(options.requests.map((request) => request.custom_id));
  const active: JudgeBatchRecord[] = [];
  let resumed = 0;
  for (const record of state.batches) {
    if (record.collected || record.judge_model !== options.judgeModel) continue;
    if (!record.custom_ids.some((id) => wanted.has(id))) continue;
    active.push(record);
    resumed += 1;
    for (const id of record.custom_ids) wanted.delete(id);
    options.onEvent?.({ kind: "resumed", batchId: record.id, status: record.status, requests: record.custom_ids.length });
  }

  const toSubmit = options.requests.filter((request) => wanted.has(request.custom_id));
  const files = splitBatchRequests(toSubmit, { maxRequests: options.maxRequestsPerFile, maxBytes: options.maxBytesPerFile });
  let created = 0;
  for (const lines of files) {
    const content = lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
    const customIds = lines.map((line) => line.custom_id);
    const requestSet = batchRequestSetHash(customIds);
    let record: JudgeBatchRecord;
    let adopted = false;
    try {
      let batch = await findUnrecordedBatch(client, requestSet, new Set(state.batches.map((item) => item.id)));
      adopted = batch !== undefined;
      if (!batch) {
        const file = await client.files.create({ file: await toFile(Buffer.from(content), "judge-requests.jsonl"), purpose: "batch" });
        batch = await client.batches.create({
          input_file_id: file.id,
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
          metadata: { created_by: "polyglot-instruct mt-bench-x judge", judge_model: options.judgeModel.slice(0, 500), request_set: requestSet },
        });
        created += 1;
      }
      record = {
        id: batch.id,
        input_file_id: batch.input_file_id,
        judge_model: options.judgeModel,
        custom_ids: customIds,
        created_at: now(),
        status: batch.status,
        collected: false,
      };
    } catch (error) {
      throw toServiceError(error, `creating a batch for judge ${options.judgeModel}`);
    }
    state.batches.push(record);
    // Recorded before anything else happens: a kill from here on resumes this batch.
    await writeJudgeBatchState(statePath, state);
    active.push(record);
    if (adopted) resumed += 1;
    options.onEvent?.({ kind: adopted ? "resumed" : "created", batchId: record.id, status: record.status, requests: lines.length });
  }

  const pending = new Set(active);
  while (pending.size > 0) {
    for (const record of [...pending]) {
      let batch: OpenAI.Batches.Batch;
      try {
        batch = await client.batches.retrieve(record.id);
      } catch (error) {
        throw toServiceError(error, `checking batch ${record.id}`);
      }
      const counts = batch.request_counts;
      if (batch.status !== record.status) {
        record.status = batch.status;
        await writeJudgeBatchState(statePath, state);
        options.onEvent?.({ kind: "status", batchId: record.id, status: batch.status, requests: record.custom_ids.length, completed: counts?.completed, failed: counts?.failed });
      }
      if (!TERMINAL_STATUSES.has(batch.status)) continue;
      const results: BatchRequestResult[] = [];
      try {
        for (const fileId of [batch.output_file_id, batch.error_file_id]) {
          if (!fileId) continue;
          const response = await client.files.content(fileId);
          results.push(...parseBatchOutput(await response.text(), record.id));
        }
      } catch (error) {
        throw toServiceError(error, `downloading the results of batch ${record.id}`);
      }
      const answered = new Set(results.map((result) => result.customId));
      const reason =
        batch.status === "failed"
          ? `batch ${record.id} failed: ${batch.errors?.data?.map((item) => item.message).join("; ") || "no reason given"}`
          : `batch ${record.id} ${batch.status} before this request ran`;
      for (const id of record.custom_ids) {
        if (!answered.has(id)) results.push({ customId: id, batchId: record.id, inputTokens: 0, outputTokens: 0, error: reason });
      }
      await options.onResults(results);
      record.collected = true;
      await writeJudgeBatchState(statePath, state);
      pending.delete(record);
      options.onEvent?.({ kind: "collected", batchId: record.id, status: batch.status, requests: record.custom_ids.length, completed: counts?.completed, failed: counts?.failed });
    }
    if (pending.size > 0) await sleep(options.pollIntervalMs);
  }
  return { batchIds: active.map((record) => record.id), created, resumed };
}
