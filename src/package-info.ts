import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import packageJson from "../package.json";

/** Name and version of this package, as recorded in manifests. */
export const TOOL = { name: packageJson.name, version: packageJson.version } as const;

/**
 * The directory of the installed package (where `fixtures/` and `src/trainer/` live), found by
 * walking up from this module: the same code runs from `src/` in tests and from `dist/` when installed.
 */
export function findPackageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(directory, "package.json");
    if (existsSync(candidate)) {
      const name = (JSON.parse(readFileSync(candidate, "utf8")) as { name?: string }).name;
      if (name === TOOL.name) return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`cannot find the ${TOOL.name} package root above ${fileURLToPath(import.meta.url)}`);
    directory = parent;
  }
}

/** Path of a file shipped with the package, e.g. `bundledPath("fixtures", "study.json")`. */
export function bundledPath(...parts: string[]): string {
  return join(findPackageRoot(), ...parts);
}
