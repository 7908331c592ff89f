import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { PolyglotError } from "../../errors";
import type { ServeEngine } from "./serve-command";

/** The serving engine is not installed where the command ran. */
export class ServeEngineMissingError extends PolyglotError {}

/** The server exited, or did not list every adapter in time. */
export class ServeStartError extends PolyglotError {}

/** How to install each engine (on the GPU machine, into the Python that will run it). */
export const SERVE_INSTALL_HINTS: Readonly<Record<ServeEngine, string>> = {
  vllm: "pip install vllm   (a CUDA machine; see https://docs.vllm.ai/en/latest/getting_started/installation/)",
  sglang: 'pip install "sglang[all]"   (a CUDA machine; see https://docs.sglang.ai/get_started/install.html)',
};

/** A free TCP port on 127.0.0.1 (the OS picks it; the server takes it a moment later). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A started server: its base URL, and how to stop it. */
export interface RunningInferenceServer {
  /** `http://127.0.0.1:<port>/v1` */
  baseUrl: string;
  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options of {@link startInferenceServer}. */
export interface StartInferenceServerOptions {
  engine: ServeEngine;
  /** From {@link buildServeCommand}. */
  command: { command: string; args: string[] };
  /** The port the command listens on. */
  port: number;
  /** Served names that `/v1/models` must list before the server counts as ready. */
  models: string[];
  /** The server's stdout and stderr go here. */
  logFile: string;
  /** Longest wait for the server to load every adapter (default 30 minutes). */
  readyTimeoutMs?: number;
  /** Time between readiness checks (default 2 s). */
  pollMs?: number;
  /** Time between SIGTERM and SIGKILL on stop (default 30 s). */
  graceMs?: number;
  /** Environment of the server (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Called once the server was started, with what runs. */
  onStart?: (commandLine: string) => void;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function tail(path: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).split("\n").slice(-20).join("\n").trim();
  } catch {
    return "";
  }
}

/**
 * Starts a serving engine, waits until its `/v1/models` lists every adapter, and hands back its
 * URL and a stop function. A missing engine fails with the install command; a server that exits
 * while loading fails with the end of its log.
 */
export async function startInferenceServer(options: StartInferenceServerOptions): Promise<RunningInferenceServer> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a" });
  const child = spawn(options.command.command, options.command.args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      spawnError = error;
      resolve();
    });
    child.once("close", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  const baseUrl = `http://127.0.0.1:${options.port}/v1`;

  const stop = async (): Promise<void> => {
    if (!exit && !spawnError && child.pid !== undefined) {
      // The engine forks workers (one per GPU, a tokenizer process): signal its whole process group.
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          child.kill(signal);
        }
      };
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), options.graceMs ?? 30_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => log.end(resolve));
  };

  options.onStart?.([options.command.command, ...options.command.args].join(" "));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30 * 60_000);
  for (;;) {
    if (spawnError) {
      await stop();
      if (spawnError.code === "ENOENT") {
        throw new ServeEngineMissingError(`${options.engine} is not installed here (${options.command.command}: command not found). Install it with:\n  ${SERVE_INSTALL_HINTS[options.engine]}\nor start a server yourself and pass --base-url`);
      }
      throw new ServeStartError(`cannot start ${options.command.command}: ${spawnError.message}`, { cause: spawnError });
    }
    if (exit) {
      await stop();
      const logTail = await tail(options.logFile);
      if (/No module named '?sglang|No module named '?vllm/.test(logTail)) {
        throw new ServeEngineMissingError(`${options.engine} is not installed in ${options.command.command}. Install it with:\n  ${SERVE_INSTALL_HINTS[options.engine]}\nor start a server yourself and pass --base-url`);
      }
      throw new ServeStartError(`the ${options.engine} server exited (code ${exit.code ?? exit.signal}) before it was ready; the end of ${options.logFile}:\n${logTail}`);
    }
    try {
      const response = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(10_000) });
      if (response.ok) {
        const listed = new Set(((await response.json()) as { data?: { id: string }[] }).data?.map((model) => model.id) ?? []);
        if (options.models.every((model) => listed.has(model))) return { baseUrl, stop };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ServeStartError(`the ${options.engine} server did not list every adapter (${options.models.join(", ")}) at ${baseUrl}/models in time; see ${options.logFile}`);
    }
    await Promise.race([delay(options.pollMs ?? 2000), exited]);
  }
}
