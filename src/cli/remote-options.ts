import { InvalidArgumentError, type Command } from "commander";

/** What {@link addRemoteOptions} adds to a command's options. */
export interface RemoteCommandOptions {
  /** Seconds the first attempt of a request may take; doubled after each timeout. */
  timeout?: number;
  /** False with `--no-wait`: fail at once when another process holds the cache or output folder. */
  wait: boolean;
}

/** `--timeout <seconds>`: a positive number of seconds, at most a day. */
export function parseTimeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new InvalidArgumentError(`expected seconds between 0 and 86400 such as 60, got "${value}"`);
  }
  return seconds;
}

/** `--timeout` and `--no-wait`, on every command that calls a service. */
export function addRemoteOptions(command: Command, defaultSeconds: number): Command {
  return command
    .option(
      "--timeout <seconds>",
      `time the first attempt of a request may take (default ${defaultSeconds}); a request that times out may still be billed, ` +
        "so it is retried with twice the time (and a batch is split) instead of again with the same",
      parseTimeoutSeconds,
    )
    .option("--no-wait", "fail at once instead of waiting when another process uses the same cache or output folder");
}

/** The retry policy for the options given. */
export function remotePolicyOf(options: RemoteCommandOptions): { timeoutMs?: number } {
  return options.timeout === undefined ? {} : { timeoutMs: Math.round(options.timeout * 1000) };
}

/**
 * The `fetch` of a hub command: with `--timeout`, a request whose answer stalls that long fails as
 * a dropped connection (retried; a download resumes), instead of hanging forever.
 */
export async function hubFetchOf(options: { timeout?: number }): Promise<{ fetch?: typeof fetch }> {
  if (options.timeout === undefined) return {};
  const { createFetchWithTimeout } = await import("../remote/fetch-with-timeout");
  return { fetch: createFetchWithTimeout({ timeoutMs: Math.round(options.timeout * 1000) }) };
}

/** Prints the wait message of a lock on stderr. */
export function printWait(message: string): void {
  process.stderr.write(`build-datasets: ${message}\n`);
}
