import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { PolyglotError } from "../../errors";

/** One conversation to turn into prompt token ids: the adapter's run folder, the turns so far, the language. */
export interface PromptRequest {
  /** Training run folder of the adapter (its training_config.json holds the template and system messages). */
  adapter: string;
  /** The conversation so far, ending with the user's turn. */
  messages: { role: "user" | "assistant"; content: string }[];
  /** Bench language code (`DE`), which picks the system message. */
  lang: string;
}

/** The ids to send and the ids that end the answer. */
export interface RenderedPrompt {
  ids: number[];
  stopTokenIds: number[];
}

/** Turns conversations into the token ids the adapter was trained on (the trainer's `render-prompts`). */
export interface PromptRenderer {
  render(request: PromptRequest): Promise<RenderedPrompt>;
  close(): Promise<void>;
}

/** The trainer's renderer failed or answered with an error. */
export class PromptRenderError extends PolyglotError {}

/** How to start `python -m polyglot_trainer render-prompts` (the CLI finds the Python and its environment). */
export interface TrainerPromptRendererOptions {
  /** The Python interpreter. */
  python: string;
  /** Arguments after the interpreter, e.g. `["-m", "polyglot_trainer", "render-prompts", "--model", BASE]`. */
  args: string[];
  /** Its environment (PYTHONPATH holding the trainer). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts one `render-prompts` process for the whole run and talks JSONL with it: one request line
 * in, one answer line out, in order. One tokenizer load serves every adapter and question.
 */
export function createTrainerPromptRenderer(options: TrainerPromptRendererOptions): PromptRenderer {
  let child: ChildProcessWithoutNullStreams | undefined;
  const waiting: { resolve: (value: RenderedPrompt) => void; reject: (error: Error) => void }[] = [];
  let stderr = "";
  let failure: Error | undefined;

  const fail = (error: Error): void => {
    failure ??= error;
    for (const pending of waiting.splice(0)) pending.reject(failure);
  };

  const start = (): ChildProcessWithoutNullStreams => {
    if (child) return child;
    const started = spawn(options.python, options.args, { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    started.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    started.on("error", (error) => fail(new PromptRenderError(`cannot start the prompt renderer ${options.python}: ${error.message}`, { cause: error })));
    started.on("close", (code) => {
      if (waiting.length > 0 || code !== 0) {
        fail(new PromptRenderError(`the prompt renderer (python -m polyglot_trainer render-prompts) exited with code ${code}:\n${stderr.trim()}`));
      }
    });
    started.stdin.on("error", () => undefined); // a dead child is reported by "close"
    createInterface({ input: started.stdout }).on("line", (line) => {
      const pending = waiting.shift();
      if (!pending) return;
      try {
        const answer = JSON.parse(line) as { ids?: number[]; stop_token_ids?: number[]; error?: string };
        if (answer.error !== undefined || !answer.ids || !answer.stop_token_ids) throw new PromptRenderError(`the prompt renderer: ${answer.error ?? line}`);
        pending.resolve({ ids: answer.ids, stopTokenIds: answer.stop_token_ids });
      } catch (error) {
        pending.reject(error instanceof PromptRenderError ? error : new PromptRenderError(`the prompt renderer wrote ${JSON.stringify(line.slice(0, 200))}`));
      }
    });
    child = started;
    return started;
  };

  return {
    render(request) {
      if (failure) return Promise.reject(failure);
      const process = start();
      return new Promise<RenderedPrompt>((resolve, reject) => {
        waiting.push({ resolve, reject });
        process.stdin.write(JSON.stringify(request) + "\n");
      });
    },
    async close() {
      if (!child) return;
      const running = child;
      child = undefined;
      if (running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once("close", () => resolve());
        running.stdin.end();
      });
    },
  };
}
