import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerTrainerCommands } from "../../src/cli/commands/trainer";
import { PythonEnvironmentError, findPython, runPythonModule } from "../../src/cli/python-launcher";
import { useTemporaryDirectories } from "../support/temporary-directory";

/** A fake `python` (a shell script): answers the dependency check with `report`, and records how it was run. */
function fakePython(directory: string, report: object): string {
  const path = join(directory, "fake-python");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      `if [ "$1" = "-c" ]; then echo '${JSON.stringify(report)}'; exit 0; fi`,
      `printf '%s\\n' "$@" > "${join(directory, "args.txt")}"`,
      `printf '%s' "$PYTHONPATH" > "${join(directory, "pythonpath.txt")}"`,
      "exit 3",
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

const temporaryDirectory = useTemporaryDirectories({ prefix: "trainer-launcher-" });

async function packageRoot(): Promise<string> {
  const root = await temporaryDirectory();
  mkdirSync(join(root, "src", "trainer"), { recursive: true });
  return root;
}

describe("python launcher", () => {
  it("names the missing packages and the exact pip command", async () => {
    const root = await packageRoot();
    const python = fakePython(root, { version: [3, 11, 4], missing: ["peft", "pyarrow"] });
    let caught: unknown;
    try {
      findPython({ packageRoot: root, env: { ...process.env, POLYGLOT_PYTHON: python } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PythonEnvironmentError);
    const message = (caught as Error).message;
    expect(message).toContain(`${python}: Python 3.11.4, missing peft, pyarrow`);
    expect(message).toContain(`${python} -m pip install -e "${join(root, "src", "trainer")}"`);
  });

  it("refuses a Python older than 3.10", async () => {
    const root = await packageRoot();
    const python = fakePython(root, { version: [3, 8, 10], missing: [] });
    expect(() => findPython({ packageRoot: root, env: { ...process.env, POLYGLOT_PYTHON: python } })).toThrow(
      /Python 3\.8\.10 is older than 3\.10[\s\S]*python3 -m venv/,
    );
  });

  it("reports a POLYGLOT_PYTHON that does not exist", async () => {
    const root = await packageRoot();
    expect(() => findPython({ packageRoot: root, env: { ...process.env, POLYGLOT_PYTHON: join(root, "nope", "python") } })).toThrow(
      /nope\/python: not found/,
    );
  });

  it("forwards every argument with the bundled trainer on PYTHONPATH and returns the exit code", async () => {
    const root = await packageRoot();
    const python = fakePython(root, { version: [3, 12, 0], missing: [] });
    const env = { ...process.env, POLYGLOT_PYTHON: python, PYTHONPATH: "" };
    expect(findPython({ packageRoot: root, env })).toEqual({ executable: python, version: "3.12.0" });
    const code = await runPythonModule({ module: "polyglot_trainer", args: ["train", "--max-steps", "40", "--help"], packageRoot: root, env });
    expect(code).toBe(3);
    expect(readFileSync(join(root, "args.txt"), "utf8").trim().split("\n")).toEqual(["-m", "polyglot_trainer", "train", "--max-steps", "40", "--help"]);
    expect(readFileSync(join(root, "pythonpath.txt"), "utf8")).toBe(join(root, "src", "trainer"));
  });

  it("registers train and make-tiny-model, passing unknown options through", () => {
    const program = new Command("build-datasets");
    registerTrainerCommands(program);
    expect(program.commands.map((command) => command.name())).toEqual(["train", "make-tiny-model"]);
    const train = program.commands[0]!;
    let forwarded: string[] = [];
    train.action((_arguments: string[], _options: unknown, command: Command) => {
      forwarded = command.args;
    });
    program.parse(["train", "--data", "d.arrow", "--max-steps", "40", "--help", "--device=cpu"], { from: "user" });
    expect(forwarded).toEqual(["--data", "d.arrow", "--max-steps", "40", "--help", "--device=cpu"]);
  });
});
