import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The root of every cache this tool keeps (hub downloads, translations, judgments):
 * `$POLYGLOT_CACHE_DIR`, else `$XDG_CACHE_HOME/polyglot-instruct`, else `~/.cache/polyglot-instruct`.
 * An empty variable counts as unset (as in the XDG spec), and a relative one is resolved against the
 * working directory, so every cache path is absolute.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (env.POLYGLOT_CACHE_DIR) return resolve(env.POLYGLOT_CACHE_DIR);
  return resolve(env.XDG_CACHE_HOME || join(home, ".cache"), "polyglot-instruct");
}

/** The translation cache every command shares by default: `$POLYGLOT_TRANSLATION_CACHE` or `<cache root>/translations.jsonl`. */
export function defaultTranslationCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.POLYGLOT_TRANSLATION_CACHE || join(cacheRoot(env), "translations.jsonl");
}
