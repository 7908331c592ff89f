import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import type { HubProgressCallback } from "./hub-progress";
import { parseOptions } from "../parse-options";

/** The public hub; `HF_ENDPOINT` or the `baseUrl` option points elsewhere (a mirror, a test server). */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/** An environment such as `process.env` (an exotic object, so not checked as a plain record). */
export const environmentSchema = z.custom<Record<string, string | undefined>>(
  (value) => typeof value === "object" && value !== null,
  "expected an environment object such as process.env",
);

/** Options every hub call takes: credentials, endpoint, progress, and the seams tests control. */
export const hubConnectionOptionsShape = {
  /** Hugging Face token; defaults to `HF_TOKEN` or the saved token file. Never logged or cached. */
  token: z.string().optional(),
  /** Hub endpoint; defaults to `HF_ENDPOINT` or https://huggingface.co. */
  baseUrl: z.string().url().optional(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
  hubUrl: z.string().url().optional(),
  onProgress: z.custom<HubProgressCallback>((value) => typeof value === "function").optional(),
  /** `fetch` to use; defaults to the global one. */
  fetch: z.custom<typeof fetch>((value) => typeof value === "function").optional(),
  /** Environment for `HF_TOKEN`, `HF_ENDPOINT` and the cache location; defaults to `process.env`. */
  env: environmentSchema.optional(),
  /** Home directory for the default token file and cache; defaults to `os.homedir()`. */
  homeDir: z.string().optional(),
  /** When another process writes the same cache entry or output folder: wait (default) or fail at once. */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
};

/** Old option names of the hub functions, still accepted with a deprecation warning (see `parseOptions`). */
export const hubRenamedOptions: Readonly<Record<string, string>> = { hubUrl: "baseUrl" };

export const hubEnvironmentOptionsSchema = z.strictObject({
  /** Environment to read (`HF_TOKEN`, `HF_TOKEN_PATH`, `HF_HOME`, `XDG_CACHE_HOME`, `HF_ENDPOINT`); defaults to `process.env`. */
  env: environmentSchema.optional(),
  /** Home directory for `~/.cache/huggingface/token`; defaults to `os.homedir()`. */
  homeDir: z.string().optional(),
});

export type HubEnvironmentOptions = z.input<typeof hubEnvironmentOptionsSchema>;

/** Where a token was found, for messages that must never show the token itself. */
export interface HubTokenSource {
  token: string;
  /** `HF_TOKEN`, or the path of the token file. */
  from: string;
}

/**
 * Finds the user's Hugging Face token the way `huggingface_hub` does: `HF_TOKEN` (or the older
 * `HUGGING_FACE_HUB_TOKEN`), then the file at `HF_TOKEN_PATH`, then `$HF_HOME/token`, where
 * `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`.
 *
 * @example
 * const found = findHubToken(); // { token: "hf_...", from: "/home/me/.cache/huggingface/token" } or undefined
 */
export function findHubToken(options: HubEnvironmentOptions = {}): HubTokenSource | undefined {
  const { env = process.env, homeDir } = parseOptions(hubEnvironmentOptionsSchema, options, "findHubToken");
  for (const name of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]) {
    const value = env[name]?.trim();
    if (value) return { token: value, from: name };
  }
  const home = homeDir ?? homedir();
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(home, ".cache"), "huggingface");
  const candidates = [env.HF_TOKEN_PATH, join(hfHome, "token")].filter((path): path is string => Boolean(path));
  for (const path of candidates) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    const token = text.trim();
    if (token) return { token, from: path };
  }
  return undefined;
}

/** The hub endpoint: the explicit option, else `HF_ENDPOINT`, else https://huggingface.co (no trailing slash). */
export function resolveHubUrl(baseUrl?: string, options: HubEnvironmentOptions = {}): string {
  const { env = process.env } = parseOptions(hubEnvironmentOptionsSchema, options, "resolveHubUrl");
  const url = baseUrl || env.HF_ENDPOINT || DEFAULT_HUB_URL;
  return url.replace(/\/+$/, "");
}
