import { Command, CommanderError } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError, InputError, PolyglotError, UsageError } from "../errors";
import { TOOL } from "../package-info";
import { registerBuildCommand } from "./commands/build";
import { registerComposeCommand } from "./commands/compose";
import { registerExperimentCommands } from "./commands/experiment";
import { registerHubCommands } from "./commands/hub";
import { registerInspectCommands } from "./commands/inspect";
import { registerMtBenchXCommands } from "./commands/mt-bench-x";
import { registerSampleCommand } from "./commands/sample";
import { registerTrainerCommands } from "./commands/trainer";
import { registerTranslateCommands } from "./commands/translate";

/** Exit codes: 0 success, 1 failure, 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The `build-datasets` program with every command registered. */
export function createProgram(): Command {
  const program = new Command("build-datasets")
    .description("Build multilingual instruction-tuning datasets (Lima-X, Bactrian-X-small, MT-Bench-X) reproducibly.")
    .version(TOOL.version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerBuildCommand(program);
  registerSampleCommand(program);
  registerComposeCommand(program);
  registerInspectCommands(program);
  registerTranslateCommands(program);
  registerHubCommands(program);
  registerMtBenchXCommands(program);
  registerTrainerCommands(program);
  registerExperimentCommands(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Runs the CLI with the given arguments and returns the exit code. The only place that prints
 * errors: known errors as one actionable message, unexpected ones with their stack.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return EXIT.ok;
      return EXIT.usage; // commander already printed the message
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`build-datasets: ${error.message}\n`);
      return error instanceof UsageError ? EXIT.usage : EXIT.failure;
    }
    if (error instanceof InputError || error instanceof PolyglotError) {
      process.stderr.write(`build-datasets: ${error.message}\n`);
      return EXIT.failure;
    }
    if (error instanceof Error && error.name === "ZodError") {
      process.stderr.write(`build-datasets: invalid options: ${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`build-datasets: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failure;
  }
}

function isMainModule(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`build-datasets: ${String(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
