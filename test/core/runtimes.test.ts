import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const example = join(repositoryRoot, "examples", "compose-in-deno.mjs");
const input = join(repositoryRoot, "fixtures", "bactrian-x");
const denoBinary = join(repositoryRoot, "node_modules", ".bin", "deno");

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: repositoryRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr}`);
  return result.stdout.trim().split("\n").at(-1)!;
}

describe("runtimes", () => {
  it("Deno (the deno npm package) builds the same bytes as Node from the built library", async () => {
    const nodeOutput = run(process.execPath, [example, input, await makeDirectory()]);
    const denoOutput = run(denoBinary, ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", example, input, await makeDirectory()]);
    const hashes = JSON.parse(nodeOutput) as [string, string][];
    expect(hashes.map(([path]) => path)).toEqual(["EN.jsonl", "EN.arrow", "DEFRITES-sampled.jsonl", "DEFRITES-sampled.arrow"]);
    expect(JSON.parse(denoOutput)).toEqual(hashes);
  });

  it("the CommonJS build loads with require() even without require(esm), and ships its declarations", () => {
    const output = run(process.execPath, [
      "--no-experimental-require-module",
      "-e",
      "const api = require('./dist/index.cjs'); console.log(typeof api.composeDataset, typeof api.readParquet, typeof api.translateDocuments, api.TOOL.name)",
    ]);
    expect(output).toBe("function function function polyglot-instruct");
    expect(existsSync(join(repositoryRoot, "dist", "index.d.cts"))).toBe(true);
  });
});
