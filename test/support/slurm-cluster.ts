import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { hostname, cpus } from "node:os";
import { join } from "node:path";

/** A real single-node SLURM cluster (Debian's slurm-wlm + munge) in a temporary folder. */
export interface SlurmCluster {
  /** Environment for sbatch/squeue/scancel and for the CLI: `SLURM_CONF`. */
  env: NodeJS.ProcessEnv;
  stop(): void;
}

/** Whether the process is alive (a zombie left for a parent that never reaps it counts as exited). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop()![0] !== "Z";
  } catch {
    return false;
  }
}

function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): void {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    spawnSync("sleep", ["0.2"]);
  }
}

/**
 * Starts munged, slurmctld and slurmd as root with a generated slurm.conf (ports 16817/16818,
 * no accounting, no cgroups) and a munge key, socket and state all under `folder`. Stops them by pid.
 */
export function startSlurmCluster(folder: string): SlurmCluster {
  mkdirSync(join(folder, "state"), { recursive: true });
  mkdirSync(join(folder, "spool"), { recursive: true });
  const key = join(folder, "munge.key");
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  const socket = join(folder, "munge.sock");
  execFileSync("munged", ["--force", `--key-file=${key}`, `--socket=${socket}`, `--log-file=${join(folder, "munged.log")}`, `--pid-file=${join(folder, "munged.pid")}`, `--seed-file=${join(folder, "munged.seed")}`]);
  const host = hostname().split(".")[0]!;
  const conf = join(folder, "slurm.conf");
  writeFileSync(
    conf,
    [
      "ClusterName=polyglot-test",
      `SlurmctldHost=${host}`,
      "AuthType=auth/munge",
      `AuthInfo=socket=${socket}`,
      "CredType=cred/munge",
      "SlurmUser=root",
      "SlurmctldPort=16817",
      "SlurmdPort=16818",
      `StateSaveLocation=${join(folder, "state")}`,
      `SlurmdSpoolDir=${join(folder, "spool")}`,
      `SlurmctldPidFile=${join(folder, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(folder, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(folder, "slurmctld.log")}`,
      `SlurmdLogFile=${join(folder, "slurmd.log")}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core",
      "AccountingStorageType=accounting_storage/none",
      "JobAcctGatherType=jobacct_gather/none",
      "ReturnToService=2",
      `NodeName=${host} CPUs=${cpus().length} RealMemory=4000 State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n"),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  execFileSync("slurmctld", ["-f", conf], { env });
  execFileSync("slurmd", ["-f", conf], { env });
  waitFor(() => /idle/.test(spawnSync("sinfo", ["-h", "-o", "%T"], { env, encoding: "utf8" }).stdout ?? ""), "the SLURM node to be idle");
  return {
    env,
    stop() {
      for (const name of ["slurmd.pid", "slurmctld.pid", "munged.pid"]) {
        const file = join(folder, name);
        if (!existsSync(file)) continue;
        const pid = Number(readFileSync(file, "utf8").trim());
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          continue; // already gone
        }
        // slurmctld saves its state as it shuts down: wait until it has exited, so that removing the
        // folder afterwards does not race its last writes.
        try {
          waitFor(() => !isRunning(pid), `${name.replace(".pid", "")} (pid ${pid}) to exit`, 20_000);
        } catch {
          if (isRunning(pid)) process.kill(pid, "SIGKILL");
          waitFor(() => !isRunning(pid), `${name.replace(".pid", "")} (pid ${pid}) to exit after SIGKILL`, 5_000);
        }
      }
    },
  };
}
