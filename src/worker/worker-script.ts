import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPackageRoot } from "../package-info";

/**
 * The built worker script `dist/<name>.js`, when this code runs from the built package; undefined
 * when it runs from source (tests), or when `POLYGLOT_WORKERS=0` asks for a single thread.
 */
export function builtWorkerScript(name: string): string | undefined {
  if (process.env.POLYGLOT_WORKERS === "0") return undefined;
  const here = fileURLToPath(import.meta.url);
  if (!here.split(/[\\/]/).includes("dist")) return undefined;
  const script = join(findPackageRoot(), "dist", `${name}.js`);
  return existsSync(script) ? script : undefined;
}
