// Loaded with `node --import` into a CLI run under test: counts the main thread's file-system
// writes and, at the FAULT_AT-th one, kills the process (FAULT_KIND=kill) or fails that write with
// ENOSPC (FAULT_KIND=enospc) as a full disk would. No mount or privilege needed, so it runs in CI.
// At exit the count goes to FAULT_COUNT_FILE, so a test can aim at every write of a run.
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { isMainThread } from "node:worker_threads";

const at = Number(process.env.FAULT_AT ?? "0");
const kind = process.env.FAULT_KIND ?? "kill";
const countFile = process.env.FAULT_COUNT_FILE;
let count = 0;
const writeCount = fs.writeFileSync;

function fault(name, target) {
  count += 1;
  if (count !== at) return undefined;
  if (kind === "kill") process.kill(process.pid, "SIGKILL");
  const error = new Error(`ENOSPC: no space left on device, ${name} '${target}'`);
  error.code = "ENOSPC";
  error.errno = -28;
  error.syscall = name;
  error.path = String(target);
  return error;
}

if (isMainThread) {
  const promises = fs.promises;
  for (const name of ["writeFile", "appendFile", "rename", "copyFile", "mkdir", "rm", "unlink", "truncate"]) {
    const original = promises[name];
    promises[name] = async function (target, ...rest) {
      const error = fault(name, target);
      if (error) throw error;
      return original.call(this, target, ...rest);
    };
  }
  const originalOpen = promises.open;
  promises.open = async function (target, flags, ...rest) {
    if (typeof flags === "string" && /[wa+]/.test(flags)) {
      const error = fault("open", target);
      if (error) throw error;
    }
    return originalOpen.call(this, target, flags, ...rest);
  };
  for (const name of ["renameSync", "writeFileSync", "mkdirSync", "rmdirSync"]) {
    const original = fs[name];
    fs[name] = function (target, ...rest) {
      const error = fault(name, target);
      if (error) throw error;
      return original.call(this, target, ...rest);
    };
  }
  syncBuiltinESMExports();
  if (countFile) process.on("exit", () => writeCount(countFile, String(count)));
}
