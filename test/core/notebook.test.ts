import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeDataset } from "../../src";
import { repositoryRoot } from "../support/run-cli";
import { requirePython } from "../support/python";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const notebook = join(repositoryRoot, "examples", "study.ipynb");
const deno = join(repositoryRoot, "node_modules", ".bin", "deno");
const executeNotebook = join(repositoryRoot, "test", "support", "execute-notebook.py");

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  text?: string | string[];
}
interface Cell {
  cell_type: string;
  metadata: { tags?: string[] };
  execution_count?: number | null;
  outputs?: Output[];
}

const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join("") : (value ?? ""));

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const result = spawnSync(command, args, { cwd: repositoryRoot, env, encoding: "utf8", timeout: 280_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr}`);
}

describe("examples/study.ipynb", () => {
  it("runs every cell headless on the Deno kernel, offline, and its plot cell draws an image", async () => {
    // jupyter_client and nbformat are installed in the test venv by scripts/test-trainer.mjs, which npm test runs first
    const python = requirePython(["jupyter_client", "nbformat"]);
    expect(existsSync(join(repositoryRoot, "dist", "index.js")), 'the notebook imports dist/: run "npm run build" first (npm test does)').toBe(true);
    const home = await makeDirectory();
    const jupyterData = join(home, ".local", "share", "jupyter"); // where `deno jupyter --install` writes its kernelspec
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      JUPYTER_DATA_DIR: jupyterData,
      JUPYTER_PATH: jupyterData,
      JUPYTER_RUNTIME_DIR: join(home, "runtime"),
      JUPYTER_PLATFORM_DIRS: "1",
      TMPDIR: home, // the notebook's Deno.makeTempDir
      DENO_DIR: join(home, "deno-cache"),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      // no network: a remote import or a registry lookup would fail here
      NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
      HTTP_PROXY: "http://127.0.0.1:9",
      HTTPS_PROXY: "http://127.0.0.1:9",
    };
    run(deno, ["jupyter", "--install"], env);
    expect(JSON.parse(readFileSync(join(jupyterData, "kernels", "deno", "kernel.json"), "utf8")).argv).toContain("--kernel");
    const executed = join(home, "study.executed.ipynb");
    run(python, [executeNotebook, notebook, executed], env);

    const codeCells = (path: string) => (JSON.parse(readFileSync(path, "utf8")) as { cells: Cell[] }).cells.filter((cell) => cell.cell_type === "code");
    const cells = codeCells(executed);
    expect(cells.map((cell) => cell.execution_count)).toEqual(cells.map((_, index) => index + 1));
    const errors = cells.flatMap((cell) => cell.outputs ?? []).filter((output) => output.output_type === "error");
    expect(errors.map((error) => `${error.ename}: ${error.evalue}`)).toEqual([]);
    const cell = (tag: string) => cells.find((candidate) => candidate.metadata.tags?.includes(tag))!;
    const markdown = (tag: string) => (cell(tag).outputs ?? []).map((output) => text(output.data?.["text/markdown"])).join("\n");

    // the composition Node builds from the same fixtures and seed
    const manifest = await composeDataset({
      input: join(repositoryRoot, "fixtures", "bactrian-x"),
      compositions: ["ENDEFRITES-sampled"],
      outDir: await makeDirectory(),
      seed: 7,
      formats: ["arrow"],
    });
    const [composition] = manifest.outputs;
    expect(markdown("composition")).toBe(`**ENDEFRITES-sampled.arrow**: ${composition!.rows} rows, sha256 ${composition!.sha256}`);

    const table = markdown("inspect").split("\n").slice(2);
    expect(table.map((row) => row.split("|")[1]!.trim())).toEqual(["de", "en", "es", "fr", "it"]);
    const inspectedRows = table.map((row) => Number(row.split("|")[2]));
    expect(inspectedRows.reduce((sum, rows) => sum + rows, 0)).toBe(composition!.rows);

    const images = (cell("plot").outputs ?? []).filter((output) => output.data?.["image/svg+xml"] ?? output.data?.["image/png"]);
    expect(images).toHaveLength(1);
    const svg = text(images[0]!.data!["image/svg+xml"]);
    expect(svg).toMatch(/^<svg [^>]*width="\d+" height="\d+"/);
    for (const label of ["en", "de", "fr", "it", "es", "characters per conversation"]) expect(svg).toContain(`>${label}</text>`);

    // the outputs saved in the notebook (what GitHub shows) are the ones it produces
    expect(
      codeCells(notebook).map((saved) => saved.outputs),
      "examples/study.ipynb's saved outputs are stale: after `npx deno jupyter --install`, run `.venv/bin/python test/support/execute-notebook.py examples/study.ipynb examples/study.ipynb`",
    ).toEqual(cells.map((cell) => cell.outputs));
  }, 300_000);
});
