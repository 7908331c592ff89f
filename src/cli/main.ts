import { Command, CommanderError, type Option } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError, InputError, PolyglotError, UsageError } from "../errors";
import { debugLoggingWarning } from "../remote/redact-secrets";
import { describeSystemError } from "./describe-system-error";
import { TOOL } from "../package-info";
import { registerBuildCommand } from "./commands/build";
import { registerComposeCommand } from "./commands/compose";
import { registerExperimentCommands } from "./commands/experiment";
import { registerGenerateCommand } from "./commands/generate";
import { registerHubCommands } from "./commands/hub";
import { registerInspectCommands } from "./commands/inspect";
import { registerMtBenchXCommands } from "./commands/mt-bench-x";
import { registerReviewCommands } from "./commands/review";
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
    .option("--debug", "show stack traces of unexpected errors")
    .exitOverride();
  registerBuildCommand(program);
  registerSampleCommand(program);
  registerComposeCommand(program);
  registerInspectCommands(program);
  registerTranslateCommands(program);
  registerHubCommands(program);
  registerMtBenchXCommands(program);
  registerTrainerCommands(program);
  registerGenerateCommand(program);
  registerReviewCommands(program);
  registerExperimentCommands(program);
  for (const command of program.commands) command.exitOverride();
  checkRequiredOptionsAfterUnknownOnes(program);
  return program;
}

/**
 * commander checks required options before it looks for unknown ones, so a typo such as
 * `--inptu x` was reported as "required option '--input' not specified". Required options are
 * checked here instead, in a `preAction` hook, which runs after commander's unknown-option check:
 * the typo is named first.
 */
function checkRequiredOptionsAfterUnknownOnes(program: Command): void {
  const required = new Map<Command, Option[]>();
  const collect = (command: Command): void => {
    const options = command.options.filter((option) => option.mandatory);
    for (const option of options) option.mandatory = false;
    if (options.length > 0) required.set(command, options);
    command.commands.forEach(collect);
  };
  collect(program);
  program.hook("preAction", (_program, command) => {
    for (const option of required.get(command) ?? []) {
      if (command.getOptionValue(option.attributeName()) === undefined) {
        command.error(`error: required option '${option.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
      }
    }
  });
}

/**
 * Runs the CLI with the given arguments and returns the exit code. The only place that prints
 * errors: known errors as one actionable message, unexpected ones with their stack.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  const debug = argv.includes("--debug");
  const warning = debugLoggingWarning();
  if (warning) process.stderr.write(`build-datasets: ${warning}\n`);
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return EXIT.ok;
      return EXIT.usage; // commander already printed the message
    }
    const trace = (): void => {
      if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    };
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`build-datasets: ${error.message}\n`);
      trace();
      return error instanceof UsageError ? EXIT.usage : EXIT.failure;
    }
    if (error instanceof InputError || error instanceof PolyglotError) {
      process.stderr.write(`build-datasets: ${error.message}\n`);
      trace();
      return EXIT.failure;
    }
    const known = describeSystemError(error);
    if (known) {
      process.stderr.write(`build-datasets: ${known}\n`);
      trace();
      return EXIT.failure;
    }
    const detail = error instanceof Error ? (debug ? (error.stack ?? error.message) : `${error.name}: ${error.message}`) : String(error);
    process.stderr.write(
      `build-datasets: unexpected error: ${detail}\n` + (debug ? "" : "(rerun with --debug to see where it happened, and report it with that output)\n"),
    );
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
  // `... | head -1` (or `2>&1 | head -1`): the reader went away. End quietly; exit handlers remove
  // the staging folder and release the locks.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(EXIT.ok);
      throw error;
    });
  }
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
