import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";

/** How long the directories of {@link useTemporaryDirectories} live. */
export interface TemporaryDirectoryOptions {
  /** Start of each directory's name, e.g. `mt-bench-judge-` (default `polyglot-test-`). */
  prefix?: string;
  /** Remove them after each test (default), or after the whole file when tests share them. */
  removeAfter?: "each" | "all";
}

/** A fresh temporary directory that the caller removes (prefer {@link useTemporaryDirectories}, which removes it for you). */
export async function makeTemporaryDirectory(prefix = "polyglot-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * The one temporary-directory helper of the tests: call it at the top of a file or `describe`,
 * then `await temporaryDirectory()` for a fresh directory that is removed for you.
 *
 * ```ts
 * const temporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-judge-" });
 * it("...", async () => { const out = await temporaryDirectory(); ... });
 * ```
 */
export function useTemporaryDirectories(options: TemporaryDirectoryOptions = {}): () => Promise<string> {
  const created: string[] = [];
  const removeAll = async (): Promise<void> => {
    await Promise.all(created.splice(0).map((path) => rm(path, { recursive: true, force: true })));
  };
  if (options.removeAfter === "all") afterAll(removeAll);
  else afterEach(removeAll);
  return async () => {
    const path = await makeTemporaryDirectory(options.prefix);
    created.push(path);
    return path;
  };
}
