import { describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../../src/errors";
import { InvalidOptionsError } from "../../src/parse-options";
import { sampleIds } from "../../src/sample/sample-ids";
import { createTranslationProvider } from "../../src/translate/create-translation-provider";

describe("one validation path: bad options are a UsageError, bad provider configs a ConfigError, both with paths", () => {
  it("a public function lists every bad field with its path", () => {
    const call = () => sampleIds({ ids: ["a", 1 as unknown as string], n: -1, seed: 0 });
    expect(call).toThrow(InvalidOptionsError);
    expect(call).toThrow(UsageError);
    try {
      call();
    } catch (error) {
      expect((error as InvalidOptionsError).issues.map((issue) => issue.path)).toEqual(["ids.1", "n"]);
      expect((error as Error).message).toMatch(/^invalid options for sampleIds: ids\.1: .+; n: .+$/);
    }
  });

  it("a provider's options from a config are a ConfigError with paths", () => {
    try {
      createTranslationProvider({ provider: "google", version: "v9", colour: 1 } as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { path: "version", message: expect.stringContaining("v2") },
        { path: "", message: 'unknown key "colour"' },
      ]);
    }
  });
});
