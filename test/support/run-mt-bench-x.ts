import { Command } from "commander";
import { vi } from "vitest";
import { registerMtBenchXCommands } from "../../src/cli/commands/mt-bench-x";

/** Runs `build-datasets mt-bench-x ...` in-process and returns what it printed on stdout. */
export async function runMtBenchX(args: string[]): Promise<string> {
  const program = new Command("build-datasets").exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerMtBenchXCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  const output: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(["mt-bench-x", ...args], { from: "user" });
  } finally {
    vi.restoreAllMocks();
  }
  return output.join("");
}
