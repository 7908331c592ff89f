import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "../../../errors";
import { writeFileAtomic } from "../../../io/atomic-write";

/**
 * The judge's Batch API state file: every batch this output directory created, written (atomically)
 * the moment the API returns the batch id, before anything waits on it. A rerun after a kill reads
 * it and follows the recorded batches instead of creating new ones for the same requests.
 */
export const judgeBatchRecordSchema = z.object({
  id: z.string().min(1),
  input_file_id: z.string().min(1),
  judge_model: z.string().min(1),
  /** The requests of the batch: their judge cache keys. */
  custom_ids: z.array(z.string()),
  created_at: z.number(),
  /** Last status seen (`validating`, `in_progress`, `completed`, `expired`, `failed`, ...). */
  status: z.string(),
  /** True once its output and error files went into the judge cache: nothing is left to fetch. */
  collected: z.boolean(),
});
export type JudgeBatchRecord = z.infer<typeof judgeBatchRecordSchema>;

export const judgeBatchStateSchema = z.object({ version: z.literal(1), batches: z.array(judgeBatchRecordSchema) });
export type JudgeBatchState = z.infer<typeof judgeBatchStateSchema>;

/** Reads the state file; a missing file is an empty state. */
export async function readJudgeBatchState(path: string): Promise<JudgeBatchState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, batches: [] };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`the batch state file is not JSON (${(error as Error).message}); it lists batches already paid for, so restore it rather than delete it`, { file: path, cause: error });
  }
  const parsed = judgeBatchStateSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(issue?.message ?? "invalid batch state", { file: path, field: issue?.path.join(".") });
  }
  return parsed.data;
}

/** Writes the state file atomically. */
export async function writeJudgeBatchState(path: string, state: JudgeBatchState): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state) + "\n");
}
