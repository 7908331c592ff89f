import { readFile, rm, rmdir } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";

/** Files a study writes beside the ones its manifest lists; never removed as stale. */
const OWN_FILES = new Set(["manifest.json", "README.md"]);

/**
 * The files the manifest in `outDir` says an earlier run wrote (outputs, trainer configs and
 * intermediate files), relative to `outDir`. None when there is no manifest or it cannot be read:
 * then nothing is known to be the tool's, and nothing may be removed.
 */
export async function readManifestFiles(outDir: string): Promise<string[]> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(outDir, "manifest.json"), "utf8"));
  } catch {
    return [];
  }
  if (typeof manifest !== "object" || manifest === null) return [];
  const { outputs, trainerConfigs, intermediateFiles } = manifest as Record<string, unknown>;
  const paths: string[] = [];
  for (const list of [outputs, trainerConfigs]) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const path = (entry as { path?: unknown } | null)?.path;
      if (typeof path === "string") paths.push(path);
    }
  }
  if (Array.isArray(intermediateFiles)) for (const path of intermediateFiles) if (typeof path === "string") paths.push(path);
  return paths;
}

/**
 * Removes the files an earlier run listed that this run does not write (a composition taken out
 * of the config, a corpus renamed), and then the folders they leave empty. Only paths inside
 * `outDir` are touched, so a hand-edited manifest cannot make a rebuild delete anything else;
 * files the tool never listed (the user's own) stay.
 */
export async function removeStaleFiles(outDir: string, previousFiles: readonly string[], currentFiles: readonly string[]): Promise<void> {
  const root = resolve(outDir);
  const current = new Set(currentFiles.map((path) => normalize(path)));
  const folders = new Set<string>();
  for (const path of previousFiles) {
    const normalized = normalize(path);
    if (current.has(normalized) || OWN_FILES.has(normalized) || isAbsolute(normalized)) continue;
    const target = resolve(root, normalized);
    const inside = relative(root, target);
    if (inside === "" || inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside)) continue;
    // A folder where the file was is not the tool's file: leave it.
    await rm(target, { force: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ERR_FS_EISDIR" && error.code !== "ENOTDIR") throw error;
    });
    for (let folder = dirname(target); folder !== root && folder.startsWith(root + sep); folder = dirname(folder)) folders.add(folder);
  }
  // Deepest first; rmdir fails on a folder that still holds anything, which is then kept.
  for (const folder of Array.from(folders).sort((a, b) => b.length - a.length)) await rmdir(folder).catch(() => undefined);
}
