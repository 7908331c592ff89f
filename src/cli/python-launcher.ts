import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { PolyglotError } from "../errors";
import { findPackageRoot } from "../package-info";

/** Python packages the trainer cannot start without (checked with importlib, without importing them). */
export const REQUIRED_PYTHON_MODULES = ["torch", "transformers", "peft", "pyarrow"] as const;
/** Oldest Python the trainer supports. */
export const MINIMUM_PYTHON: readonly [number, number] = [3, 10];

/** No suitable Python was found; the message lists every candidate and the command that fixes it. */
export class PythonEnvironmentError extends PolyglotError {
  /** What was wrong with each candidate, e.g. `/usr/bin/python3: missing peft`. */
  readonly candidates: string[];

  constructor(message: string, candidates: string[]) {
    super(message);
    this.candidates = candidates;
  }
}

export interface FindPythonOptions {
  /** Directory of the installed package (holds `src/trainer` and maybe `.venv`); found from this module by default. */
  packageRoot?: string;
  /** Environment to read `POLYGLOT_PYTHON` and `PATH` from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface PythonInfo {
  /** The interpreter to run. */
  executable: string;
  /** Its version, e.g. `3.11.7`. */
  version: string;
}

const CHECK_SCRIPT = [
  "import importlib.util, json, sys",
  `missing = [m for m in ${JSON.stringify(REQUIRED_PYTHON_MODULES)} if importlib.util.find_spec(m) is None]`,
  "print(json.dumps({'version': list(sys.version_info[:3]), 'missing': missing}))",
].join("\n");

function venvPython(root: string): string {
  return process.platform === "win32" ? join(root, ".venv", "Scripts", "python.exe") : join(root, ".venv", "bin", "python");
}

function installCommand(python: string, root: string): string {
  return `${python} -m pip install torch && ${python} -m pip install -e "${join(root, "src", "trainer")}"`;
}

/**
 * The Python that runs the trainer: `$POLYGLOT_PYTHON` if set (and then only it), else `<root>/.venv`,
 * `python3`, `python`; the first with Python >= 3.10 and torch, transformers, peft and pyarrow importable.
 * Throws a `PythonEnvironmentError` that says which pip command to run.
 */
export function findPython(options: FindPythonOptions = {}): PythonInfo {
  const env = options.env ?? process.env;
  const root = options.packageRoot ?? findPackageRoot();
  const forced = env.POLYGLOT_PYTHON;
  const candidates = forced ? [forced] : [venvPython(root), "python3", "python"];
  const problems: string[] = [];
  let firstUsable: string | undefined;
  for (const candidate of candidates) {
    if (candidate.includes("/") && !existsSync(candidate)) {
      problems.push(`${candidate}: not found`);
      continue;
    }
    const result = spawnSync(candidate, ["-c", CHECK_SCRIPT], { env, encoding: "utf8", timeout: 60_000 });
    if (result.error || result.status !== 0) {
      const reason = result.error ? result.error.message : (result.stderr || "").trim().split("\n").pop();
      problems.push(`${candidate}: cannot run (${reason || `exit code ${result.status}`})`);
      continue;
    }
    let report: { version: number[]; missing: string[] };
    try {
      report = JSON.parse(result.stdout.trim().split("\n").pop() ?? "") as typeof report;
    } catch {
      problems.push(`${candidate}: unexpected output ${JSON.stringify(result.stdout.slice(0, 200))}`);
      continue;
    }
    const version = report.version.join(".");
    const [major = 0, minor = 0] = report.version;
    if (major < MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])) {
      problems.push(`${candidate}: Python ${version} is older than ${MINIMUM_PYTHON.join(".")}`);
      continue;
    }
    if (report.missing.length > 0) {
      problems.push(`${candidate}: Python ${version}, missing ${report.missing.join(", ")}`);
      firstUsable ??= candidate;
      continue;
    }
    return { executable: candidate, version };
  }
  const python = firstUsable ?? venvPython(root);
  const setup = firstUsable
    ? `install the trainer's dependencies with:\n  ${installCommand(python, root)}`
    : `create its virtual environment with:\n  python3 -m venv "${join(root, ".venv")}" && ${installCommand(python, root)}`;
  throw new PythonEnvironmentError(
    `no Python able to run the trainer (needs Python >= ${MINIMUM_PYTHON.join(".")} with ${REQUIRED_PYTHON_MODULES.join(", ")}):\n` +
      problems.map((problem) => `  - ${problem}`).join("\n") +
      `\n${setup}\n(on a GPU machine keep its CUDA build of torch; set POLYGLOT_PYTHON to choose another interpreter)`,
    problems,
  );
}

export interface RunPythonModuleOptions extends FindPythonOptions {
  /** Module to run with `python -m`, e.g. `polyglot_trainer`. */
  module: string;
  /** Arguments after the module name, forwarded untouched. */
  args: readonly string[];
  /** Interpreter to use; found with `findPython` when omitted. */
  python?: string;
  /** Where the child's output goes; the terminal by default. */
  stdio?: "inherit" | "pipe";
}

/** The interpreter, arguments and environment of `python -m <module> <args>` with the bundled trainer importable. */
export function pythonModuleCommand(options: Omit<RunPythonModuleOptions, "stdio">): { python: string; args: string[]; env: NodeJS.ProcessEnv } {
  const env = options.env ?? process.env;
  const root = options.packageRoot ?? findPackageRoot();
  const python = options.python ?? findPython({ ...options, packageRoot: root, env }).executable;
  const trainerSource = join(root, "src", "trainer");
  const childEnv = { ...env, PYTHONPATH: env.PYTHONPATH ? `${trainerSource}${delimiter}${env.PYTHONPATH}` : trainerSource };
  return { python, args: ["-m", options.module, ...options.args], env: childEnv };
}

/**
 * Runs `python -m <module> <args>` with the bundled `src/trainer` on `PYTHONPATH` and resolves with its
 * exit code (signals map to 128 + number). Never exits the process.
 */
export async function runPythonModule(options: RunPythonModuleOptions): Promise<number> {
  const { python, args, env: childEnv } = pythonModuleCommand(options);
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { env: childEnv, stdio: options.stdio ?? "inherit" });
    child.on("error", (error) => reject(new PythonEnvironmentError(`cannot start ${python}: ${error.message}`, [python])));
    child.on("close", (code, signal) => {
      const signals: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
      resolve(code ?? 128 + (signal ? (signals[signal] ?? 1) : 1));
    });
  });
}
