import type { Command } from "commander";
import { runPythonModule } from "../python-launcher";

const TRAINER_COMMANDS = [
  ["train", "LoRA-tune a model on a composition (.arrow/.jsonl); `train --help` lists every option"],
  ["make-tiny-model", "write a tiny random Llama model + tokenizer trained on a dataset, for CPU smoke tests"],
] as const;

/**
 * Adds `train` and `make-tiny-model` (`generate` is in generate.ts): each forwards all its arguments to
 * `python -m polyglot_trainer <command>` (the bundled Python trainer) and exits with its code.
 */
export function registerTrainerCommands(program: Command): void {
  for (const [name, description] of TRAINER_COMMANDS) {
    program
      .command(name)
      .description(`${description} (Python trainer)`)
      .argument("[arguments...]", "forwarded to python -m polyglot_trainer")
      .helpOption(false) // --help goes to the Python side, which knows the options
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async (_arguments: string[], _options: unknown, command: Command) => {
        process.exitCode = await runPythonModule({ module: "polyglot_trainer", args: [name, ...command.args] });
      });
  }
}
