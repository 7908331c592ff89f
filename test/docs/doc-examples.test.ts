import { spawnSync } from "node:child_process";
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { cliPath, repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

// Every fenced block marked `runnable` (```js runnable, ```sh runnable) in README.md and docs/*.md
// runs here, in order per file, in a fresh directory where `fixtures/` is the bundled fixtures,
// `polyglot-instruct` is the built library and `build-datasets` the built CLI.
const makeDirectory = useTemporaryDirectories();
const libraryUrl = pathToFileURL(join(repositoryRoot, "dist", "index.js")).href;

interface Example {
  language: "js" | "sh";
  code: string;
  line: number;
}

function extractExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const pattern = /^```(js|sh) runnable\n([\s\S]*?)^```$/gm;
  for (let match = pattern.exec(markdown); match; match = pattern.exec(markdown)) {
    examples.push({ language: match[1] as "js" | "sh", code: match[2]!, line: markdown.slice(0, match.index).split("\n").length });
  }
  return examples;
}

const documents = ["README.md", ...(await readdir(join(repositoryRoot, "docs"))).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const withExamples: [string, Example[]][] = [];
for (const document of documents) {
  const examples = extractExamples(await readFile(join(repositoryRoot, document), "utf8"));
  if (examples.length > 0) withExamples.push([document, examples]);
}

describe("documentation examples", () => {
  it("the docs have runnable examples", () => {
    expect(withExamples.map(([document]) => document)).toEqual(expect.arrayContaining(["README.md", "docs/getting-started.md", "docs/formats.md"]));
  });

  it.each(withExamples)("%s: every runnable example succeeds", async (document, examples) => {
    const directory = await makeDirectory();
    await symlink(join(repositoryRoot, "fixtures"), join(directory, "fixtures"));
    await mkdir(join(directory, "bin"));
    const shim = join(directory, "bin", "build-datasets");
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
    await chmod(shim, 0o755);
    for (const [index, example] of examples.entries()) {
      const file = join(directory, `example-${index}.${example.language === "js" ? "mjs" : "sh"}`);
      const code = example.language === "js" ? example.code.replaceAll('"polyglot-instruct"', JSON.stringify(libraryUrl)) : `set -euo pipefail\n${example.code}`;
      await writeFile(file, code);
      const result = spawnSync(example.language === "js" ? process.execPath : "bash", [file], {
        cwd: directory,
        encoding: "utf8",
        env: { ...process.env, PATH: `${join(directory, "bin")}:${process.env.PATH}` },
      });
      expect(result.status, `${document}:${example.line} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
    }
  });
});
