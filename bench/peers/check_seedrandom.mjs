// Checks bench/peers/seedrandom_port.py against Node's seedrandom: same doubles for the same string seeds and the
// same shuffle of a large id list. Run: node bench/peers/check_seedrandom.mjs  (exit 1 on a mismatch)
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import seedrandom from "seedrandom";

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * Compares the Python port with seedrandom; returns { ok, detail }.
 * @param {{ python?: string }} [options]
 */
export function checkSeedrandomPort(options = {}) {
  const python = options.python ?? "python3";
  const seeds = ["42:sample", "7:assign:DEFRITES", "", "ü:é", "42:order:ENDEFRITES-sampled", "x".repeat(300)];
  const fromPython = JSON.parse(
    execFileSync(python, [`${here}seedrandom_port.py`, ...seeds], { encoding: "utf8" }),
  );
  for (const seed of seeds) {
    const rng = seedrandom(seed);
    const expected = Array.from({ length: 5 }, () => rng());
    const actual = fromPython[seed];
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      return { ok: false, detail: `seed ${JSON.stringify(seed)}: node ${expected} python ${actual}` };
    }
  }
  // A long stream: a shuffle of 20,000 ids must agree element by element.
  const ids = Array.from({ length: 20_000 }, (_, index) => (index % 4 ? `alpaca-${index}` : `dolly-${index}`));
  const order = [...ids].sort();
  const rng = seedrandom("42:sample");
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const script =
    "import json,sys; sys.path.insert(0, sys.argv[1]); from seedrandom_port import shuffle_ids; " +
    "ids=json.load(sys.stdin); print(json.dumps(shuffle_ids(ids, 42, 'sample')))";
  const pythonOrder = JSON.parse(
    execFileSync(python, ["-c", script, here], { input: JSON.stringify(ids), encoding: "utf8", maxBuffer: 1 << 26 }),
  );
  if (JSON.stringify(pythonOrder) !== JSON.stringify(order)) {
    return { ok: false, detail: "shuffle of 20,000 ids differs" };
  }
  return { ok: true, detail: `${seeds.length} seeds x 5 draws and a 20,000-id shuffle agree` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = checkSeedrandomPort({ python: process.argv[2] });
  console.log(`seedrandom port: ${result.ok ? "OK" : "MISMATCH"} (${result.detail})`);
  process.exitCode = result.ok ? 0 : 1;
}
