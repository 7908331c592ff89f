import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushDataset } from "../../src/hub/index";
import { runStudy } from "../../src/study/run-study";
import { parseStudyConfig } from "../../src/study/study-config";
import { startHubServer, type HubServer } from "../servers/hub-server";
import { SECRET_TOKEN, makeTemporaryDirectory, removeDirectory, sha256Of } from "./helpers";

// The acceptance path of issue 7: a study config naming hf:// sources builds from the hub, a second
// build downloads nothing, the manifest names the resolved revisions, and the result pushes intact.
let hub: HubServer;
let workDir: string;

const bactrianRows = (lang: string) =>
  Array.from({ length: 12 }, (_, index) => ({
    instruction: `[${lang}] Instruction ${index}`,
    input: index % 3 === 0 ? `[${lang}] context ${index}` : "",
    id: `${index % 2 === 0 ? "alpaca" : "dolly"}-${100 + index}`,
    output: `[${lang}] Output ${index} with \`code\`.`,
  }));

beforeAll(async () => {
  hub = await startHubServer({ tokens: { [SECRET_TOKEN]: { user: "alice" } }, lfsThreshold: 512 });
  hub.addRepo({
    name: "MBZUAI/Bactrian-X",
    files: {
      "data/en.json.gz": gzipSync(Buffer.from(JSON.stringify(bactrianRows("en")))),
      "data/de.json.gz": gzipSync(Buffer.from(JSON.stringify(bactrianRows("de")))),
    },
  });
  workDir = await makeTemporaryDirectory("study");
});

afterAll(async () => {
  await hub.close();
  await removeDirectory(workDir);
});

describe("a study built from hf:// sources", () => {
  it("fetches, caches and builds; a rebuild downloads nothing; the manifest names the revision; push sends it intact", async () => {
    const config = parseStudyConfig({
      seed: 3,
      languages: ["en", "de"],
      compositions: ["EN", "DE", "ENDE"],
      formats: ["jsonl"],
      corpora: { "bactrian-x": { path: "hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz", format: "bactrian-x" } },
    });
    const hubOptions = { baseUrl: hub.url, cacheDir: join(workDir, "cache"), token: SECRET_TOKEN };
    const out = join(workDir, "out");
    const manifest = await runStudy({ config, baseDirectory: workDir, outDir: out, hub: hubOptions });
    const commit = hub.head("dataset", "MBZUAI/Bactrian-X")?.sha;
    const hubInputs = manifest.inputs.filter((input) => input.corpus === "bactrian-x");
    expect(hubInputs).toHaveLength(2);
    for (const input of hubInputs) expect(input.revision).toBe(commit);
    // The manifest names each file by its portable hub URI, not by a machine's cache path.
    expect(hubInputs.map((input) => input.path)).toEqual(["hf://datasets/MBZUAI/Bactrian-X/data/en.json.gz", "hf://datasets/MBZUAI/Bactrian-X/data/de.json.gz"]);
    expect(manifest.outputs.length).toBeGreaterThanOrEqual(3);

    hub.clearRequests();
    const again = await runStudy({ config, baseDirectory: workDir, outDir: join(workDir, "out-2"), hub: hubOptions });
    expect(hub.requests.filter((request) => request.url.includes("/resolve/") || request.origin === "cdn")).toHaveLength(0);
    expect(again.outputs.map((output) => output.sha256)).toEqual(manifest.outputs.map((output) => output.sha256));

    const pushed = await pushDataset({ repo: "alice/bactrian-x-study", outDir: out, token: SECRET_TOKEN, baseUrl: hub.url, env: {} });
    expect(pushed.commitTitle).toContain(`seed 3`);
    expect(pushed.warnings).toEqual([]);
    expect(hub.repo("dataset", "alice/bactrian-x-study")?.private).toBe(true);
    // the trainer configs go with the dataset, so LLaMA-Factory and axolotl load the pushed copy as the local one
    expect(manifest.trainerConfigs.map((config) => config.path)).toContain("dataset_info.json");
    for (const output of [...manifest.outputs, ...manifest.trainerConfigs]) {
      const local = await readFile(join(out, output.path));
      const remote = hub.readFile("dataset", "alice/bactrian-x-study", output.path);
      expect(remote, output.path).toBeDefined();
      expect(sha256Of(remote as Buffer)).toBe(sha256Of(local));
      expect(sha256Of(local)).toBe(output.sha256);
    }
    expect(hub.readFile("dataset", "alice/bactrian-x-study", "manifest.json")?.toString("utf8")).toBe(await readFile(join(out, "manifest.json"), "utf8"));
  });
});
