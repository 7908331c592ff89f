import { randomBytes } from "node:crypto";
import { existsSync, rmSync, rmdirSync } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Name of the folder inside the output directory where a run writes before anything is moved into place. */
export const STAGING_FOLDER = ".incomplete-build";

/**
 * A folder inside the output directory that a run writes everything into; `commit` moves the
 * files into place (renames on one file system) and `abort` removes them, so a failed or killed
 * run never leaves a half-written study in the output directory.
 */
export interface StagingDirectory {
  readonly path: string;
  /** Absolute staging path of an output path relative to the output directory. */
  pathOf(relativePath: string): string;
  /** Moves the given relative paths from staging into the output directory and removes staging. */
  commit(relativePaths: readonly string[]): Promise<void>;
  abort(): Promise<void>;
}

export async function createStagingDirectory(outDir: string): Promise<StagingDirectory> {
  const createdOutDir = !existsSync(outDir);
  // The caller holds the folder's lock: staging folders left by killed runs are garbage.
  if (!createdOutDir) {
    for (const name of await readdir(outDir)) {
      if (name.startsWith(STAGING_FOLDER)) await rm(join(outDir, name), { recursive: true, force: true });
    }
  }
  // A name of its own, so that even a run that ignored the lock never writes into another's files.
  const path = join(outDir, `${STAGING_FOLDER}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(path, { recursive: true });
  const forget = removeOnExit(() => {
    rmSync(path, { recursive: true, force: true });
    if (createdOutDir) tryRemoveEmptyFolder(outDir);
  });
  return {
    path,
    pathOf: (relativePath) => join(path, relativePath),
    async commit(relativePaths) {
      for (const relativePath of relativePaths) {
        const target = join(outDir, relativePath);
        await mkdir(dirname(target), { recursive: true });
        await rename(join(path, relativePath), target);
      }
      await rm(path, { recursive: true, force: true });
      forget();
    },
    async abort() {
      forget();
      await rm(path, { recursive: true, force: true });
      // Leave no trace of a failed run: remove the output directory if this run created it.
      if (createdOutDir) await rmdir(outDir).catch(() => undefined);
    },
  };
}

const exitCleanups = new Set<() => void>();

/**
 * Runs `cleanup` if the process exits while the staging folder still exists: the CLI ends at
 * once when its reader goes away (`build ... | head -1`), before any `finally` of the run could
 * remove the folder. A kill leaves it to the next run, which removes stale staging folders.
 */
function removeOnExit(cleanup: () => void): () => void {
  if (exitCleanups.size === 0) process.on("exit", runExitCleanups);
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
    if (exitCleanups.size === 0) process.off("exit", runExitCleanups);
  };
}

function runExitCleanups(): void {
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // Exiting anyway: the next run removes what is left.
    }
  }
}

function tryRemoveEmptyFolder(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Not empty (another run's files) or gone: leave it.
  }
}
