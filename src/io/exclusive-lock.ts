import { rmSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import lockfile from "proper-lockfile";
import { PolyglotError } from "../errors";

/** How to take a lock that another process may hold. */
export interface ExclusiveLockOptions {
  /** The file or folder to guard (it need not exist); the lock is `<path>.lock` beside it. */
  path: string;
  /** How messages name what is guarded, e.g. `the translation cache /data/translations.jsonl`. */
  what: string;
  /** Wait for the other process (default true); false fails at once (`--no-wait`). */
  wait?: boolean;
  /** Called once when the lock is held by another process and this one starts to wait. */
  onWait?: (message: string) => void;
}

/** A command's waiting behaviour (`wait`, `onWait`), as it passes it on to its locks. */
export interface LockWaiting {
  wait?: boolean | undefined;
  onWait?: ((message: string) => void) | undefined;
}

/** Releases a lock; calling it twice is harmless. */
export type ReleaseLock = () => Promise<void>;

/** Another process holds the lock and `wait: false` was asked. */
export class LockedError extends PolyglotError {
  readonly lockPath: string;

  constructor(what: string, lockPath: string) {
    super(
      `${what} is in use by another process (lock ${lockPath}). Wait for it to finish (run without --no-wait to wait ` +
        "automatically), or, if no such process runs any more, rerun in 10 seconds: a lock not refreshed for that long counts as abandoned.",
    );
    this.lockPath = lockPath;
  }
}

// A lock held by a process that was killed is stale once its mtime stops being refreshed.
const STALE_MS = 10_000;
const UPDATE_MS = 2_500;

/**
 * Takes the one-writer lock of a cache or output folder (proper-lockfile: an atomic `mkdir` of
 * `<path>.lock`, refreshed while held, taken over once stale after a kill). A second process
 * waits, with one message, until the first has finished, and then finds its work in the cache.
 */
export async function acquireExclusiveLock(options: ExclusiveLockOptions): Promise<ReleaseLock> {
  await mkdir(dirname(options.path), { recursive: true });
  const lockPath = `${options.path}.lock`;
  const settings = {
    realpath: false,
    stale: STALE_MS,
    update: UPDATE_MS,
    lockfilePath: lockPath,
    // A lost lock (the event loop blocked past `stale`, the folder removed) must not crash a run
    // that is otherwise fine: the work is still whole; only the exclusion was weakened.
    onCompromised: () => undefined,
  };
  const tryLock = async (): Promise<(() => Promise<void>) | undefined> => {
    try {
      return await lockfile.lock(options.path, { ...settings, retries: 0 });
    } catch (error) {
      // proper-lockfile found the lock stale and removes it with rmdir, which the owner file blocks.
      if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY") {
        await rm(lockPath, { recursive: true, force: true });
        return tryLock();
      }
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      // A holder on this machine that no longer runs (killed) left the lock: take it over now
      // instead of waiting for it to go stale.
      if (await ownerIsGone(lockPath)) {
        await rm(lockPath, { recursive: true, force: true });
        return tryLock();
      }
      return undefined;
    }
  };
  let release = await tryLock();
  if (!release) {
    if (options.wait === false) throw new LockedError(options.what, lockPath);
    options.onWait?.(`waiting for another process that is using ${options.what} (lock ${lockPath}) ...`);
    for (let delay = 50; !release; delay = Math.min(1000, delay * 1.5)) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      release = await tryLock();
    }
  }
  await writeFile(join(lockPath, OWNER_FILE), JSON.stringify({ pid: process.pid, host: hostname() })).catch(() => undefined);
  const held = release;
  let released = false;
  // proper-lockfile removes its lock at exit with rmdir, which the owner file blocks: a process
  // that ends at once (its reader went away: `... | head -1`) removes the whole lock itself.
  const removeAtExit = (): void => rmSync(lockPath, { recursive: true, force: true });
  process.once("exit", removeAtExit);
  return async () => {
    if (released) return;
    released = true;
    process.off("exit", removeAtExit);
    // proper-lockfile removes the lock with rmdir: the owner file goes first.
    await rm(join(lockPath, OWNER_FILE), { force: true }).catch(() => undefined);
    await held().catch(() => undefined);
  };
}

const OWNER_FILE = "owner.json";

async function ownerIsGone(lockPath: string): Promise<boolean> {
  let owner: { pid?: unknown; host?: unknown };
  try {
    owner = JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8")) as { pid?: unknown; host?: unknown };
  } catch {
    return false;
  }
  if (owner.host !== hostname() || typeof owner.pid !== "number" || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Runs `work` while holding the lock of `options.path`, and releases it however `work` ends. */
export async function withExclusiveLock<T>(options: Pick<ExclusiveLockOptions, "path" | "what"> & LockWaiting, work: () => Promise<T>): Promise<T> {
  const release = await acquireExclusiveLock({
    path: options.path,
    what: options.what,
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.onWait ? { onWait: options.onWait } : {}),
  });
  try {
    return await work();
  } finally {
    await release();
  }
}
