// Worker entry for tests: registers tsx's TypeScript loader in this thread, then runs the worker
// module named in workerData from src/ (see source-worker-script.ts). A `.ts` file cannot be a
// Worker's entry itself: Node 20 loads it before `--import tsx` has registered its hooks.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.sourceWorker);
