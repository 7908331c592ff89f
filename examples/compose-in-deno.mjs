// Builds a composition with the library from Deno (or Node) and prints the sha256 of each file.
// Usage: deno run --allow-read --allow-write --allow-env examples/compose-in-deno.mjs <input-dir> <out-dir>
import { composeDataset } from "../dist/index.js";

const [input, outDir] = (globalThis.Deno?.args ?? process.argv.slice(2));
const manifest = await composeDataset({ input, outDir, compositions: ["EN", "DEFRITES-sampled"], seed: 7, formats: ["jsonl", "arrow"] });
console.log(JSON.stringify(manifest.outputs.map((output) => [output.path, output.sha256])));
