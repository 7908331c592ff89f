#!/usr/bin/env node
// The performance benchmark of polyglot-instruct against its Python peers (`npm run bench`, after `npm run build`).
//
//   node bench/run.mjs                      # 5 languages x 67,017 rows: ours, polars, pandas + pyarrow, HF datasets
//   node bench/run.mjs --rows 5000          # a quick run on small files
//   node bench/run.mjs --install-peers      # create or reuse bench/.venv with polars, pandas, pyarrow, datasets
//   node bench/run.mjs --langs all          # scale check: 52 languages (ours only)
//   node bench/run.mjs --cpu-prof           # also profile ours once and print the top functions
//   node bench/run.mjs --rounds 3           # ours and the peers in turn, three times: medians and per-round ratios
//
// What it does: generates synthetic Bactrian-X once into bench/.data/ (reused while the arguments match), runs
// each tool on the same files with the same seed, measures wall time and peak memory of each process tree,
// checks that all tools wrote the same multiset of JSONL lines per composition, and prints a table. See
// bench/README.md for what each figure means.
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile, open } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import {
  BACTRIAN_X_LANGUAGES,
  generateBactrianX,
  isGenerated,
  resolveGeneratorOptions,
} from "./generate-bactrian-x.mjs";
import { checkSeedrandomPort } from "./peers/check_seedrandom.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, "..");
const STUDY_LANGUAGES = ["en", "de", "fr", "it", "es"];
const STUDY_COMPOSITIONS = ["EN", "DE", "FR", "IT", "ES", "ENDEFRITES", "DEFRITES", "ENDEFRITES-sampled", "DEFRITES-sampled"];
const SMALL_IDS = 1030;
const CORPUS = "bactrian-x";
const SMALL_CORPUS = "bactrian-x-small";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "67017" },
    langs: { type: "string", default: STUDY_LANGUAGES.join(",") },
    seed: { type: "string", default: "42" },
    "data-seed": { type: "string", default: "1" },
    missing: { type: "string", default: "0.002" },
    duplicates: { type: "string", default: "0" },
    tools: { type: "string", default: "ours,polars,pandas,datasets,lower-bound" },
    rounds: { type: "string", default: "1" },
    "install-peers": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    "keep-output": { type: "boolean", default: false },
    "skip-translate": { type: "boolean", default: false },
    data: { type: "string", default: join(benchDir, ".data") },
    cli: { type: "string", default: join(root, "dist", "cli", "main.js") },
    internal: { type: "string" },
    help: { type: "boolean", default: false },
  },
  allowPositionals: true,
  strict: true,
});
const cli = resolve(args.cli);

// ---------------------------------------------------------------------------------------------------------
// Measuring a process tree: wall time, and peak memory both from GNU time (largest process of the tree) and
// from polling /proc (sum of the resident sets of every process of the tree, for tools that fork workers).

async function listTree(pid) {
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) {
    try {
      const children = await readFile(`/proc/${tree[index]}/task/${tree[index]}/children`, "utf8");
      for (const child of children.split(" ").filter(Boolean)) tree.push(Number(child));
    } catch {
      // the process ended between two reads
    }
  }
  return tree;
}

async function residentKilobytes(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const hasGnuTime = existsSync("/usr/bin/time");

/**
 * Runs a command, measuring wall time and peak memory of its process tree.
 * @returns {Promise<{ wallSeconds: number, peakMegabytes: number, exitCode: number, output: string }>}
 */
async function measure(command, commandArgs, { env = {}, echo = false } = {}) {
  // Start every tool with no writeback pending from the one before (each writes gigabytes).
  execFileSync("sync");
  const timeFile = join(args.data, `.time-${process.pid}`);
  const [file, fileArgs] = hasGnuTime
    ? ["/usr/bin/time", ["-f", "%e %M", "-o", timeFile, command, ...commandArgs]]
    : [command, commandArgs];
  const started = process.hrtime.bigint();
  const child = spawn(file, fileArgs, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk) => {
    output += chunk;
    if (output.length > 200_000) output = output.slice(-100_000);
    if (echo) process.stdout.write(chunk);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let polledPeak = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      let total = 0;
      for (const pid of await listTree(child.pid)) {
        // GNU time itself is tiny; it is counted like any other process of the tree.
        total += await residentKilobytes(pid);
      }
      polledPeak = Math.max(polledPeak, total);
      await new Promise((done) => setTimeout(done, 100));
    }
  })();
  const exitCode = await new Promise((done) => child.on("close", (code) => done(code ?? 1)));
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  polling = false;
  await poll;
  let timePeak = 0;
  if (hasGnuTime) {
    try {
      const [, maxKilobytes] = (await readFile(timeFile, "utf8")).trim().split(/\s+/).slice(-2);
      timePeak = Number(maxKilobytes) || 0;
      await rm(timeFile, { force: true });
    } catch {
      // the command failed before GNU time wrote its line
    }
  }
  return { wallSeconds, peakMegabytes: Math.max(timePeak, polledPeak) / 1024, exitCode, output };
}

// ---------------------------------------------------------------------------------------------------------
// Comparing outputs: per composition, the sorted list of line hashes (a multiset of lines).

async function fingerprintJsonl(path) {
  const bytes = await readFile(path);
  const hashes = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end === -1) end = bytes.length;
    hashes.push(createHash("sha1").update(bytes.subarray(start, end)).digest("hex"));
    start = end + 1;
  }
  hashes.sort();
  return { lines: hashes.length, digest: createHash("sha256").update(hashes.join("\n")).digest("hex"), hashes };
}

async function describeDifference(leftPath, rightPath) {
  const linesOf = async (path) => new Set((await readFile(path, "utf8")).split("\n").filter(Boolean));
  const left = await linesOf(leftPath);
  const right = await linesOf(rightPath);
  const onlyLeft = [...left].filter((line) => !right.has(line));
  const onlyRight = [...right].filter((line) => !left.has(line));
  const show = (line) => (line ? line.slice(0, 300) : "(none)");
  return `${onlyLeft.length} distinct lines only in ${relative(root, leftPath)}, e.g. ${show(onlyLeft[0])}\n` +
    `      ${onlyRight.length} only in ${relative(root, rightPath)}, e.g. ${show(onlyRight[0])}`;
}

/** Compares each tool's JSONL files with ours; returns { ok, lines[] }. */
async function compareOutputs(outputs, compositionsByCorpus) {
  const report = [];
  let ok = true;
  const [reference, ...others] = outputs;
  for (const [corpus, compositions] of Object.entries(compositionsByCorpus)) {
    for (const name of compositions) {
      const referencePath = join(reference.dir, corpus, `${name}.jsonl`);
      if (!existsSync(referencePath)) {
        report.push(`  MISSING ${reference.tool}: ${corpus}/${name}.jsonl`);
        ok = false;
        continue;
      }
      const expected = await fingerprintJsonl(referencePath);
      const agreeing = [];
      for (const other of others) {
        const path = join(other.dir, corpus, `${name}.jsonl`);
        if (!existsSync(path)) {
          report.push(`  MISSING ${other.tool}: ${corpus}/${name}.jsonl`);
          ok = false;
          continue;
        }
        const actual = await fingerprintJsonl(path);
        if (actual.digest === expected.digest) agreeing.push(other.tool);
        else {
          ok = false;
          report.push(
            `  DIFFERENT ${corpus}/${name}.jsonl: ${reference.tool} ${expected.lines} lines, ${other.tool} ${actual.lines} lines\n` +
              `      ${await describeDifference(referencePath, path)}`,
          );
        }
      }
      report.push(`  ${corpus}/${name}.jsonl: ${expected.lines} lines${agreeing.length ? `, same set in ${agreeing.join(", ")}` : ""}`);
    }
  }
  return { ok, report };
}

/**
 * Opens every .arrow file with pyarrow over a memory map (open_stream for the IPC stream format, open_file for the
 * IPC file format, told apart by the file's first bytes) and compares its row count with the lines of the JSONL
 * beside it. Returns report lines and whether all agree.
 */
function checkArrowFiles(python, outputs, compositionsByCorpus) {
  const files = [];
  for (const output of outputs) {
    for (const [corpus, compositions] of Object.entries(compositionsByCorpus)) {
      for (const name of compositions) files.push([output.tool, join(output.dir, corpus, name)]);
    }
  }
  const script = [
    "import json, sys, pyarrow as pa, pyarrow.ipc as ipc",
    "problems = []",
    "for tool, base in json.load(sys.stdin):",
    "    try:",
    "        source = pa.memory_map(base + '.arrow')",
    "        layout = source.read(6)",
    "        source.seek(0)",
    "        reader = ipc.open_file(source) if layout == b'ARROW1' else ipc.open_stream(source)",
    "        rows = reader.read_all().num_rows",
    "        with open(base + '.jsonl', 'rb') as f: lines = sum(1 for _ in f)",
    "        if rows != lines: problems.append(f'{tool}: {base}.arrow has {rows} rows, the JSONL {lines} lines')",
    "    except Exception as error:",
    "        problems.append(f'{tool}: {base}.arrow: {error}')",
    "print(json.dumps(problems))",
  ].join("\n");
  try {
    const problems = JSON.parse(execFileSync(python, ["-c", script], { input: JSON.stringify(files), encoding: "utf8", maxBuffer: 1 << 24 }));
    return { ok: problems.length === 0, report: problems.length ? problems.map((problem) => `  ${problem}`) : [`  ${files.length} .arrow files open with pyarrow.ipc (stream or file) and hold as many rows as their JSONL`] };
  } catch (error) {
    return { ok: false, report: [`  arrow check could not run: ${error.message}`] };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Lower bound: our raw gunzip + JSON.parse + canonical JSON.stringify + write loop, run in its own process
// (node bench/run.mjs --internal lower-bound DATA OUT). It writes the same JSONL volume as the workload
// (every composition of both corpora, no Arrow), without id alignment, sampling or shuffling.

async function runLowerBound(dataDir, outDir) {
  const lines = {};
  for (const lang of STUDY_LANGUAGES) {
    const rows = JSON.parse(gunzipSync(await readFile(join(dataDir, `${lang}.json.gz`))).toString("utf8"));
    lines[lang] = rows.map((row) =>
      JSON.stringify({
        id: row.id,
        lang,
        source: CORPUS,
        messages: [
          { role: "user", content: row.input ? `${row.instruction}\n\n${row.input}` : row.instruction },
          { role: "assistant", content: row.output },
        ],
        meta: { origin: row.id.slice(0, row.id.indexOf("-")) },
      }),
    );
  }
  for (const [corpus, limit] of [[CORPUS, Infinity], [SMALL_CORPUS, SMALL_IDS]]) {
    await mkdir(join(outDir, corpus), { recursive: true });
    for (const name of STUDY_COMPOSITIONS) {
      const base = name.replace("-sampled", "");
      const languages = base.match(/../g).map((code) => code.toLowerCase());
      const file = await open(join(outDir, corpus, `${name}.jsonl`), "w");
      for (const [index, lang] of languages.entries()) {
        const all = lines[lang].slice(0, Math.min(limit, lines[lang].length));
        const part = name.endsWith("-sampled")
          ? all.slice(Math.floor((index * all.length) / languages.length), Math.floor(((index + 1) * all.length) / languages.length))
          : all;
        for (let start = 0; start < part.length; start += 4096) {
          await file.write(`${part.slice(start, start + 4096).join("\n")}\n`);
        }
      }
      await file.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tools

function commandOutput(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return undefined;
  }
}

/** The python that has the peers' packages, installing them into bench/.venv with --install-peers. */
function findPeerPython(log) {
  const venvPython = join(benchDir, ".venv", "bin", "python");
  const has = (python, modules) => commandOutput(python, ["-c", `import ${modules}`]) !== undefined;
  if (!existsSync(venvPython) && args["install-peers"]) {
    log("creating bench/.venv (python3 -m venv) ...");
    execFileSync("python3", ["-m", "venv", join(benchDir, ".venv")], { stdio: "inherit" });
  }
  if (existsSync(venvPython) && args["install-peers"] && !has(venvPython, "pandas, pyarrow, datasets, polars")) {
    log("installing polars, pandas, pyarrow, datasets into bench/.venv ...");
    execFileSync(venvPython, ["-m", "pip", "install", "--quiet", "polars", "pandas", "pyarrow", "datasets"], { stdio: "inherit" });
  }
  for (const python of [venvPython, "python3"]) {
    if (existsSync(python) || python === "python3") {
      const pandas = has(python, "pandas, pyarrow");
      const datasets = has(python, "datasets, pyarrow");
      // the polars peer needs pyarrow only for the shared workload module (and the Arrow check)
      const polars = has(python, "polars, pyarrow");
      if (pandas || datasets || polars) return { python, pandas, datasets, polars };
    }
  }
  return { python: "python3", pandas: false, datasets: false, polars: false };
}

function describeVersions(python) {
  const versions = {
    node: process.version,
    python: commandOutput(python, ["--version"]) ?? "missing",
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  };
  const script =
    "import importlib.metadata as m\nfor name in ['polars','pandas','pyarrow','datasets','numpy']:\n" +
    "    try: print(name, m.version(name))\n    except Exception: print(name, 'missing')";
  const packages = commandOutput(python, ["-c", script]);
  if (packages) for (const line of packages.split("\n")) versions[line.split(" ")[0]] = line.split(" ")[1];
  const readVersion = (path) => JSON.parse(readFileSync(path, "utf8")).version;
  versions["polyglot-instruct"] = readVersion(join(root, "package.json"));
  for (const dependency of ["apache-arrow", "seedrandom"]) {
    try {
      versions[dependency] = readVersion(join(root, "node_modules", dependency, "package.json"));
    } catch {
      versions[dependency] = "missing";
    }
  }
  return versions;
}

async function cliHasCommand(command) {
  if (!existsSync(cli)) return false;
  const help = commandOutput(process.execPath, [cli, "--help"]) ?? "";
  return new RegExp(`^\\s+${command}\\b`, "m").test(help);
}

/**
 * Runs ours on the study workload as a user would: one `build` of the bench study config (the full
 * corpus and Bactrian-X-small, nine compositions each), so the five languages are read once.
 */
async function runOurs(dataDir, outDir, { profileDir } = {}) {
  const nodeArgs = profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [];
  // The config names the default full-size data directory; point it at this run's data and seed.
  const config = JSON.parse(await readFile(join(benchDir, "study-bench.json"), "utf8"));
  config.corpora[CORPUS].path = dataDir;
  config.seed = Number(args.seed);
  const resolvedConfig = join(outDir, "..", `study-bench.${process.pid}.json`);
  await writeFile(resolvedConfig, `${JSON.stringify(config, null, 2)}\n`);
  const result = await measure(process.execPath, [...nodeArgs, cli, "build", "--config", resolvedConfig, "--out", join(outDir, "study"), "--quiet"]);
  for (const corpus of [CORPUS, SMALL_CORPUS]) {
    const source = join(outDir, "study", corpus);
    await rm(join(outDir, corpus), { recursive: true, force: true });
    if (existsSync(source)) execFileSync("mv", [source, join(outDir, corpus)]);
  }
  return result;
}

/** Self time per function from V8 .cpuprofile files, top entries first. */
async function summariseProfiles(profileDir, top = 20) {
  const selfMicroseconds = new Map();
  let totalMicroseconds = 0;
  for (const file of (await readdir(profileDir)).filter((name) => name.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(await readFile(join(profileDir, file), "utf8"));
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parentOf = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
    const describe = ({ functionName, url, lineNumber }) =>
      `${functionName || "(anonymous)"} ${url ? `${url.replace(`file://${root}/`, "")}:${lineNumber + 1}` : ""}`.trim();
    const deltas = profile.timeDeltas ?? [];
    for (let index = 0; index < profile.samples.length; index++) {
      const node = byId.get(profile.samples[index]);
      const delta = deltas[index + 1] ?? 0;
      let key = describe(node.callFrame);
      // A nameless frame without a script is V8/C++ code (e.g. UTF-8 encoding): name it by its caller.
      const parent = parentOf.get(node.id);
      if (key === "(anonymous)" && parent) key = `(native) in ${describe(parent.callFrame)}`;
      selfMicroseconds.set(key, (selfMicroseconds.get(key) ?? 0) + delta);
      // Idle time (waiting for the disk, or a worker waiting for work) is listed but not part of the shares.
      if (key !== "(idle)") totalMicroseconds += delta;
    }
  }
  return [...selfMicroseconds.entries()]
    .sort((left, right) => right[1] - left[1])
    .slice(0, top)
    .map(([name, microseconds]) => ({ name, seconds: microseconds / 1e6, share: name === "(idle)" ? 0 : microseconds / totalMicroseconds }));
}

function formatLoad() {
  return loadavg().map((value) => value.toFixed(2)).join(" ");
}

function formatTable(results, referenceTool, referenceLabel = "ours") {
  const reference = results.find((result) => result.tool === referenceTool && result.exitCode === 0);
  const rows = [["tool", "wall s", "peak MB", `wall / ${referenceLabel}`, `peak / ${referenceLabel}`]];
  for (const result of results) {
    const failed = result.exitCode !== 0;
    rows.push([
      result.tool + (failed ? ` (FAILED, exit ${result.exitCode})` : ""),
      result.wallSeconds.toFixed(1),
      result.peakMegabytes.toFixed(0),
      reference && !failed ? (result.wallSeconds / reference.wallSeconds).toFixed(2) : "-",
      reference && !failed ? (result.peakMegabytes / reference.peakMegabytes).toFixed(2) : "-",
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) => `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(" | ")} |`;
  return [line(rows[0]), `|${widths.map((width, column) => (column === 0 ? "-".repeat(width + 2) : `${"-".repeat(width + 1)}:`)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------------------

async function ensureData(langs, log) {
  const options = resolveGeneratorOptions({
    langs, rows: args.rows, seed: args["data-seed"], missing: args.missing, duplicates: args.duplicates, level: "6", jobs: "2",
  });
  const name = `${langs === "all" ? "all" : options.langs.join("-")}-r${options.rows}-s${options.seed}-m${options.missing}-d${options.duplicates}`;
  const dir = join(args.data, "input", name);
  if (await isGenerated(dir, options)) {
    log(`data: reusing ${relative(root, dir)}`);
  } else {
    log(`data: generating ${options.langs.length} languages x ${options.rows} rows into ${relative(root, dir)} ...`);
    const started = Date.now();
    await generateBactrianX(dir, options, (line) => log(`  ${line}`));
    log(`data: generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return dir;
}

async function runStudyBenchmark(log) {
  const tools = new Set(args.tools.split(","));
  const peers = findPeerPython(log);
  const versions = describeVersions(peers.python);
  log(`machine: ${versions.cpu}, ${versions.memory}, load average ${formatLoad()} (other work on the machine slows every tool)`);
  log(`versions: ${Object.entries(versions).filter(([key]) => !["cpu", "memory"].includes(key)).map(([key, value]) => `${key} ${value}`).join(", ")}`);
  const dataDir = await ensureData(args.langs, log);
  const runDir = join(args.data, "runs");
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const results = [];
  const outputs = [];
  const compositionsByCorpus = { [CORPUS]: STUDY_COMPOSITIONS, [SMALL_CORPUS]: STUDY_COMPOSITIONS };

  // Tools run in turn, round after round: on a shared machine the load drifts, and ratios from one
  // round (ours and a peer minutes apart) are steadier than absolute times. The table shows medians.
  const rounds = Math.max(1, Number(args.rounds) || 1);
  const byTool = new Map();
  const addRun = (tool, result) => {
    if (!byTool.has(tool)) byTool.set(tool, []);
    byTool.get(tool).push(result);
  };
  const peerEnv = { HF_DATASETS_OFFLINE: "1", HF_HUB_OFFLINE: "1", HF_HUB_DISABLE_TELEMETRY: "1", PYTHONWARNINGS: "ignore" };
  const peerTools = [
    ["polars", "polars", peers.polars, "compose_polars.py"],
    ["pandas", "pandas + pyarrow", peers.pandas, "compose_pandas.py"],
    ["datasets", "HF datasets", peers.datasets, "compose_hf_datasets.py"],
  ];
  for (let round = 1; round <= rounds; round += 1) {
    const roundLabel = rounds > 1 ? ` (round ${round} of ${rounds})` : "";
    if (tools.has("ours")) {
      if (!existsSync(cli) || !(await cliHasCommand("compose"))) {
        log("ours: SKIPPED, dist/cli/main.js has no compose command yet (run npm run build)");
      } else {
        log(`ours: running build-datasets build --config bench/study-bench.json${roundLabel} ...`);
        await rm(join(runDir, "ours"), { recursive: true, force: true });
        const result = await runOurs(dataDir, join(runDir, "ours"));
        addRun("polyglot-instruct", result);
        if (result.exitCode !== 0) log(`ours: FAILED (exit ${result.exitCode}):\n${result.output.slice(-3000)}`);
      }
    }
    for (const [tool, label, available, script] of peerTools) {
      if (!tools.has(tool)) continue;
      if (!available) {
        if (round === 1) log(`${label}: SKIPPED, ${peers.python} cannot import ${{ polars: "polars and pyarrow", pandas: "pandas and pyarrow", datasets: "datasets" }[tool]} (pass --install-peers to create bench/.venv)`);
        continue;
      }
      log(`${label}: running bench/peers/${script}${roundLabel} ...`);
      const outDir = join(runDir, tool);
      await rm(outDir, { recursive: true, force: true });
      const result = await measure(peers.python, [join(benchDir, "peers", script), "--input", dataDir, "--out", outDir, "--seed", args.seed], { env: peerEnv });
      addRun(label, result);
      if (result.exitCode !== 0) log(`${label}: FAILED (exit ${result.exitCode}):\n${result.output.slice(-3000)}`);
    }
  }
  const median = (values) => [...values].sort((left, right) => left - right)[Math.floor((values.length - 1) / 2)];
  const roundRatios = [];
  for (const [tool, runs] of byTool) {
    const failed = runs.find((run) => run.exitCode !== 0);
    results.push(failed ? { tool, ...failed } : { tool, ...runs.at(-1), wallSeconds: median(runs.map((run) => run.wallSeconds)), peakMegabytes: median(runs.map((run) => run.peakMegabytes)), rounds: runs.map(({ output, ...rest }) => rest) });
    const dir = { "polyglot-instruct": join(runDir, "ours"), polars: join(runDir, "polars"), "pandas + pyarrow": join(runDir, "pandas"), "HF datasets": join(runDir, "datasets") }[tool];
    if (!failed) outputs.push({ tool, dir });
  }
  const ours = byTool.get("polyglot-instruct");
  if (rounds > 1 && ours) {
    for (const [tool, runs] of byTool) {
      if (tool === "polyglot-instruct") continue;
      roundRatios.push(`${tool} / ours by round: ${runs.map((run, index) => (ours[index] ? (run.wallSeconds / ours[index].wallSeconds).toFixed(2) : "-")).join(", ")}`);
    }
  }
  if (tools.has("lower-bound")) {
    const files = STUDY_LANGUAGES.map((lang) => join(dataDir, `${lang}.json.gz`));
    log("lower bounds: zcat, python json, node gunzip+JSON.parse+stringify+write ...");
    results.push({ tool: "lower bound: zcat > /dev/null", ...(await measure("sh", ["-c", 'zcat "$@" > /dev/null', "zcat", ...files])) });
    results.push({
      tool: "lower bound: python gzip+json.load",
      ...(await measure("python3", ["-c", "import gzip, json, sys\nfor path in sys.argv[1:]:\n    json.load(gzip.open(path, 'rt', encoding='utf-8'))", ...files])),
    });
    results.push({
      tool: "lower bound: node parse+write JSONL",
      ...(await measure(process.execPath, [fileURLToPath(import.meta.url), "--internal", "lower-bound", "--data", args.data, dataDir, join(runDir, "lower-bound")])),
    });
  }

  log("checking that the tools wrote the same JSONL lines ...");
  const check = outputs.length > 0 ? await compareOutputs(outputs, compositionsByCorpus) : { ok: true, report: [] };
  for (const line of check.report) log(line);
  if (outputs.length < 2) log("check: fewer than two tools wrote output, nothing to compare");
  else log(check.ok ? `check: OK, ${outputs.map((output) => output.tool).join(", ")} wrote the same lines in all 18 compositions` : "check: FAILED (see above)");
  let arrowOk = true;
  if (outputs.length > 0 && (peers.pandas || peers.datasets || peers.polars)) {
    log("checking the Arrow files with pyarrow ...");
    const arrow = checkArrowFiles(peers.python, outputs, compositionsByCorpus);
    for (const line of arrow.report) log(line);
    arrowOk = arrow.ok;
  }
  if (peers.pandas || peers.datasets || peers.polars) {
    const port = checkSeedrandomPort({ python: peers.python });
    log(`seedrandom port (bench/peers/seedrandom_port.py) vs Node seedrandom: ${port.ok ? "OK" : "MISMATCH"}, ${port.detail}`);
  }

  let profile;
  if (args["cpu-prof"] && outputs.some((output) => output.tool === "polyglot-instruct")) {
    log("profiling ours once more with --cpu-prof ...");
    const profileDir = join(runDir, "cpu-prof");
    await mkdir(profileDir, { recursive: true });
    await runOurs(dataDir, join(runDir, "ours-profiled"), { profileDir });
    profile = await summariseProfiles(profileDir);
  }

  log(`load average after the runs: ${formatLoad()}`);
  const table = formatTable(results, "polyglot-instruct");
  const rows = Number(args.rows);
  console.log(`\n## ${STUDY_LANGUAGES.length} languages x ${rows} rows, seed ${args.seed} (${versions.cpu}, ${versions.memory})\n`);
  console.log(table);
  if (rounds > 1) console.log(`\n${rounds} rounds, medians above; wall ratios ${roundRatios.join("; ")}`);
  if (profile) {
    console.log("\nours, self time by function (V8 CPU profile, all processes):\n");
    for (const entry of profile) console.log(`  ${entry.seconds.toFixed(2).padStart(7)} s ${(100 * entry.share).toFixed(1).padStart(5)} %  ${entry.name}`);
  }
  const record = { date: new Date().toISOString(), load: loadavg(), args, versions, results: results.map(({ output, ...rest }) => rest), check: check.ok, profile };
  await writeFile(join(args.data, `results-${args.langs === "all" ? "all" : "study"}-r${rows}.json`), `${JSON.stringify(record, null, 2)}\n`);
  if (!args["keep-output"]) {
    for (const dir of ["ours", "ours-profiled", "polars", "pandas", "datasets", "lower-bound"]) await rm(join(runDir, dir), { recursive: true, force: true });
  }
  return check.ok && arrowOk && results.every((result) => result.exitCode === 0);
}

/** Issue 6 point 4: 52 languages; monolingual sets for every language plus the study's compositions. */
async function runScaleBenchmark(log) {
  if (!existsSync(cli) || !(await cliHasCommand("compose"))) {
    log("scale check: SKIPPED, dist/cli/main.js has no compose command yet (run npm run build)");
    return false;
  }
  log(`machine: ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}`);
  const allDir = await ensureData("all", log);
  const fiveDir = await ensureData(STUDY_LANGUAGES.join(","), log);
  const runDir = join(args.data, "runs-all");
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  // A tool that holds every language in memory would need more than this shared machine has: cap the heap so
  // that such a run fails with a heap error instead of pushing the machine into swap or the OOM killer.
  const heapCapMegabytes = Math.min(8192, Math.floor((0.4 * totalmem()) / 2 ** 20));
  log(`heap cap for these runs: --max-old-space-size=${heapCapMegabytes}`);
  const compose = (tool, input, compositions) => {
    log(`${tool} ...`);
    return measure(
      process.execPath,
      [
        `--max-old-space-size=${heapCapMegabytes}`, cli, "compose", "--input", input, "--compositions", compositions.join(","),
        "--seed", args.seed, "--out", join(runDir, tool.replace(/[^a-z0-9]+/gi, "-")), "--format", "jsonl,arrow", "--quiet",
      ],
    ).then((result) => ({ tool, ...result }));
  };
  const monolingual = BACTRIAN_X_LANGUAGES.map((lang) => lang.toUpperCase());
  const results = [
    await compose("5-language dir -> study compositions", fiveDir, STUDY_COMPOSITIONS),
    await compose("52-language dir -> study compositions", allDir, STUDY_COMPOSITIONS),
    await compose("52-language dir -> 52 monolingual + study compositions", allDir, [
      ...monolingual,
      ...STUDY_COMPOSITIONS.filter((name) => !monolingual.includes(name)),
    ]),
  ];
  for (const result of results) if (result.exitCode !== 0) log(`${result.tool}: FAILED (exit ${result.exitCode}):\n${result.output.slice(-3000)}`);
  console.log(`\n## Scale check: ${BACTRIAN_X_LANGUAGES.length} languages x ${args.rows} rows, seed ${args.seed}\n`);
  console.log(formatTable(results, "5-language dir -> study compositions", "5-lang"));
  const [five, all] = results;
  if (five.exitCode === 0 && all.exitCode === 0) {
    const ratio = all.peakMegabytes / five.peakMegabytes;
    console.log(`\npeak memory, 52-language dir vs 5-language dir (same compositions): ${(100 * ratio).toFixed(1)} % (${ratio <= 1.1 ? "within" : "NOT within"} the 10 % goal)`);
  }
  await writeFile(join(args.data, `results-all-r${args.rows}.json`), `${JSON.stringify({ date: new Date().toISOString(), args, results: results.map(({ output, ...rest }) => rest) }, null, 2)}\n`);
  if (!args["keep-output"]) await rm(runDir, { recursive: true, force: true });
  return results.every((result) => result.exitCode === 0);
}

async function runTranslationBenchmark(log) {
  const script = join(benchDir, "translate-throughput.mjs");
  if (args["skip-translate"] || !existsSync(script)) return true;
  log("\ntranslation throughput: node bench/translate-throughput.mjs");
  const child = spawn(process.execPath, [script], { cwd: root, stdio: "inherit" });
  return (await new Promise((done) => child.on("close", done))) === 0;
}

async function main() {
  if (args.internal === "lower-bound") {
    const [dataDir, outDir] = process.argv.slice(-2);
    await runLowerBound(dataDir, outDir);
    return;
  }
  if (args.internal === "profile") {
    // node bench/run.mjs --internal profile DIR: summarise the .cpuprofile files of DIR (e.g. from node --cpu-prof).
    for (const entry of await summariseProfiles(process.argv.at(-1), 25)) {
      console.log(`  ${entry.seconds.toFixed(2).padStart(7)} s ${(100 * entry.share).toFixed(1).padStart(5)} %  ${entry.name}`);
    }
    return;
  }
  if (args.help) {
    console.log(
      "usage: node bench/run.mjs [--rows 67017] [--langs en,de,fr,it,es|all] [--seed 42] [--data-seed 1]\n" +
        "       [--missing 0.002] [--duplicates 0] [--tools ours,polars,pandas,datasets,lower-bound] [--rounds 1] [--install-peers]\n" +
        "       [--cpu-prof] [--keep-output] [--skip-translate] [--data bench/.data]\n" +
        "       [--cli dist/cli/main.js]",
    );
    return;
  }
  const log = (line) => console.log(line);
  await mkdir(args.data, { recursive: true });
  const ok = args.langs === "all" ? await runScaleBenchmark(log) : await runStudyBenchmark(log);
  const translated = await runTranslationBenchmark(log);
  process.exitCode = ok && translated ? 0 : 1;
}

await main();
