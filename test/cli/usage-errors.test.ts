import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const LIMA = join(repositoryRoot, "fixtures/lima/train.jsonl");

/** A usage error as the user sees it: exit code 2, one line saying what is wrong, then at most commander's hints. */
function expectUsageError(run: { status: number | null; stderr: string }, message: string): void {
  expect(run.status, run.stderr).toBe(2);
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines[0]).toContain(message);
  expect(lines.slice(1).filter((line) => line !== "(run with --help for usage)" && !/^\(Did you mean --[a-z-]+\?\)$/.test(line))).toEqual([]);
  // Never zod's JSON or a stack.
  expect(run.stderr).not.toMatch(/ZodError|"code":|\n\s+at /);
}

describe("usage errors come from the command-line parser, one line each", () => {
  const temporaryDirectory = useTemporaryDirectories();

  it("names an unknown option as unknown, even when a required option is missing too", () => {
    expectUsageError(runBuiltCli(["compose", "--frobnicate"]), "error: unknown option '--frobnicate'");
    const typo = runBuiltCli(["translate", "--to", "de", "--inptu", LIMA]);
    expectUsageError(typo, "error: unknown option '--inptu'");
    expect(typo.stderr).toContain("(Did you mean --input?)");
  });

  it("still names a missing required option", () => {
    expectUsageError(runBuiltCli(["compose", "--out", "x", "--compositions", "EN"]), "error: required option '--input <path>' not specified");
    expectUsageError(runBuiltCli(["mt-bench-x", "report", "--out", "x"]), "error: required option '--judgments <path>' not specified");
  });

  it("rejects a seed beyond 2^53 instead of rounding it", async () => {
    const out = join(await temporaryDirectory(), "out");
    expectUsageError(
      runBuiltCli(["compose", "--input", LIMA, "--out", out, "--compositions", "EN", "--seed", "99999999999999999999"]),
      "error: option '--seed <n>' argument '99999999999999999999' is invalid. expected an integer between -9007199254740991 and 9007199254740991",
    );
    expectUsageError(
      runBuiltCli(["mt-bench-x", "report", "--judgments", "j", "--out", out, "--seed", "99999999999999999999"]),
      "error: option '--seed <seed>' argument '99999999999999999999' is invalid.",
    );
  });

  it("rejects an empty or unknown composition list at the parser", async () => {
    const out = join(await temporaryDirectory(), "out");
    expectUsageError(
      runBuiltCli(["compose", "--input", LIMA, "--out", out, "--compositions", ""]),
      "error: option '--compositions <names>' argument '' is invalid. expected comma-separated composition names such as EN,DE,ENDEFRITES",
    );
    expectUsageError(
      runBuiltCli(["compose", "--input", LIMA, "--out", out, "--compositions", "EN,XX"]),
      `unknown composition "XX": "XX" is not an ISO 639-1 language code`,
    );
  });

  it("names the flag when a provider rejects its value", async () => {
    const out = join(await temporaryDirectory(), "out");
    expectUsageError(
      runBuiltCli(["translate", "--input", LIMA, "--to", "de", "--out", out, "--formality", "rude"]),
      'build-datasets: --formality: Invalid option: expected one of "less"|"more"|"default"|"prefer_less"|"prefer_more"',
    );
    expectUsageError(runBuiltCli(["translate", "--input", LIMA, "--to", "de", "--out", out, "--base-url", "not a url"]), "build-datasets: --base-url: Invalid URL");
  });
});
