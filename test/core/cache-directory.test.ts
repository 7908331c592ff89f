import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheRoot, defaultTranslationCachePath } from "../../src/cache-directory";
import { resolveHubCacheDir } from "../../src/hub/hub-cache";

describe("cacheRoot", () => {
  it("is $POLYGLOT_CACHE_DIR, else $XDG_CACHE_HOME/polyglot-instruct, else ~/.cache/polyglot-instruct", () => {
    expect(cacheRoot({ POLYGLOT_CACHE_DIR: "/x", XDG_CACHE_HOME: "/xdg" }, "/home/me")).toBe("/x");
    expect(cacheRoot({ XDG_CACHE_HOME: "/xdg" }, "/home/me")).toBe("/xdg/polyglot-instruct");
    expect(cacheRoot({}, "/home/me")).toBe("/home/me/.cache/polyglot-instruct");
  });

  it("treats empty variables as unset and resolves relative ones", () => {
    expect(cacheRoot({ POLYGLOT_CACHE_DIR: "", XDG_CACHE_HOME: "" }, "/home/me")).toBe("/home/me/.cache/polyglot-instruct");
    expect(cacheRoot({ POLYGLOT_CACHE_DIR: "relative" }, "/home/me")).toBe(resolve("relative"));
    expect(defaultTranslationCachePath({ POLYGLOT_TRANSLATION_CACHE: "", POLYGLOT_CACHE_DIR: "/x" })).toBe("/x/translations.jsonl");
  });

  it("is the one root of the translation cache and the hub cache", () => {
    for (const env of [{ POLYGLOT_CACHE_DIR: "/x" }, { POLYGLOT_CACHE_DIR: "", XDG_CACHE_HOME: "/xdg" }, { XDG_CACHE_HOME: "" }]) {
      const root = cacheRoot(env, "/home/me");
      expect(resolveHubCacheDir({ env, homeDir: "/home/me" })).toBe(`${root}/hub`);
    }
    expect(defaultTranslationCachePath({ POLYGLOT_CACHE_DIR: "/x" })).toBe("/x/translations.jsonl");
  });
});
