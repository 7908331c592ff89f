import { createHash } from "node:crypto";
import { z } from "zod";
import { openAppendOnlyJsonl, ReadOnlyJsonlError } from "../../io/append-only-jsonl";

/**
 * A persistent, append-only cache of judge answers, so no (judge model, prompt, answer) is paid
 * for twice and a killed run resumes where it stopped. One JSON line per answer, appended as soon
 * as the answer arrives; a line torn by a kill is ignored when the file is read again, and cut
 * off before the next append. A later line for the same key wins (`--retry-errors`).
 * Only the judge's answer and token counts are stored: never an API key.
 */

/** One cached judge answer. */
export const judgeCacheEntrySchema = z.object({
  key: z.string().length(64),
  judge_model: z.string(),
  judgment: z.string(),
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  tstamp: z.number(),
  /** The model snapshot that answered (`model` of the API response), when the API said. */
  judge_snapshot: z.string().optional(),
  /** The Batch API batch that answered (batched answers cost the batch price). */
  batch_id: z.string().optional(),
});
export type JudgeCacheEntry = z.infer<typeof judgeCacheEntrySchema>;

/**
 * The cache identity: sha256 over judge model, system prompt and user prompt (which holds the
 * answer), plus the repeat number from the second repeat on (`--repeats`): repeat 0 keeps the key of
 * a plain run, so a cache filled without repeats serves the first repeat.
 */
export function judgeCacheKey(parts: { judgeModel: string; systemPrompt: string; userPrompt: string; repeat?: number }): string {
  const identity: unknown[] = [parts.judgeModel, parts.systemPrompt, parts.userPrompt];
  if (parts.repeat) identity.push({ repeat: parts.repeat });
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}

/** An open judge cache. */
export interface JudgeCache {
  readonly path: string;
  /** Entries read at open time plus those added since. */
  readonly size: number;
  get(key: string): JudgeCacheEntry | undefined;
  /** Appends an entry to the file (one write per line) and to memory. */
  add(entry: JudgeCacheEntry): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens (or creates) the cache file at `path`; `readOnly` never creates or writes it (dry runs).
 * A line torn by a kill at the end is ignored and cut off before the next append; any other
 * unreadable line is an error naming the file and line (the rule of `openAppendOnlyJsonl`).
 * The caller holds the cache's lock (`judgeMtBench` does).
 */
export async function openJudgeCache(options: { path: string; readOnly?: boolean }): Promise<JudgeCache> {
  const file = await openAppendOnlyJsonl({
    path: options.path,
    schema: judgeCacheEntrySchema,
    what: "judge cache entry",
    ...(options.readOnly ? { readOnly: true } : {}),
  });
  const entries = new Map<string, JudgeCacheEntry>();
  for (const entry of file.entries) entries.set(entry.key, entry);
  return {
    path: options.path,
    get size() {
      return entries.size;
    },
    get(key) {
      return entries.get(key);
    },
    async add(entry) {
      if (options.readOnly) throw new ReadOnlyJsonlError(`the judge cache ${options.path} was opened read-only`);
      entries.set(entry.key, entry);
      await file.append([entry]);
    },
    close: () => file.close(),
  };
}
