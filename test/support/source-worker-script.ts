import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { WorkerScripts } from "../../src/worker/worker-script";
import { repositoryRoot } from "./run-cli";

/**
 * Runs the package's workers from `src/` (through tsx), so that tests exercise the reader and
 * writer threads of the code under test, not of the last build.
 */
export const sourceWorkerScripts: WorkerScripts = (name) => ({
  path: join(repositoryRoot, "test", "support", "source-worker.mjs"),
  options: { workerData: { sourceWorker: pathToFileURL(join(repositoryRoot, "src", `${name}.ts`)).href } },
});
