import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TOOL } from "../package-info";
import type { JobKind } from "./plan-experiment";

/** File in a job's output folder that says what it was made from; its presence with a matching key means done. */
export const DONE_RECORD_FILE = ".experiment-job.json";

/** What a job's output is made of: the config section it used and the sha256 of each input. */
export interface JobInputs {
  section: unknown;
  /** Input name -> sha256 (or, for a model named by a hub id, the id itself). */
  inputs: Record<string, string>;
}

/** The record written into a job's output when it completed. */
export interface DoneRecord extends JobInputs {
  job: string;
  kind: JobKind;
  /** sha256 of the tool, kind, section and inputs: the job is done when the plan computes the same key. */
  key: string;
  tool: { name: string; version: string };
  executor: string;
  finishedAt: string;
}

/** JSON with sorted keys, so that the key does not depend on the order fields were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The content address of a job: its kind, the tool version, its config section and its inputs' sha256. */
export function jobKey(kind: JobKind, inputs: JobInputs): string {
  return createHash("sha256").update(canonicalJson({ kind, tool: TOOL, section: inputs.section, inputs: inputs.inputs })).digest("hex");
}

/** The record in an output folder, or undefined when there is none (or it is unreadable: not done). */
export async function readDoneRecord(outputDirectory: string): Promise<DoneRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(outputDirectory, DONE_RECORD_FILE), "utf8")) as DoneRecord;
  } catch {
    return undefined;
  }
}
