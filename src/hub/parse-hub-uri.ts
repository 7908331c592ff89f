import { HubUriError, type HubRepo, type HubRepoType } from "./errors";

/** Scheme of hub URIs, as in `huggingface_hub`'s `HfFileSystem` and `datasets`. */
export const HUB_URI_SCHEME = "hf://";

/** One file on the hub, named by an `hf://` URI after brace expansion. */
export interface HubFileReference {
  repo: HubRepo;
  /** The revision pinned in the URI (`@main`, `@v1.0`, `@<sha>`); undefined means the default branch. */
  revision?: string;
  /** Path of the file inside the repository, `/`-separated, never starting with `/`. */
  path: string;
  /** The URI of this one file (braces expanded). */
  uri: string;
}

/** True for `hf://...` inputs, which `resolveSource` downloads; anything else is a local path. */
export function isHubUri(path: string): boolean {
  return path.startsWith(HUB_URI_SCHEME);
}

/**
 * Expands shell-style brace groups: `data/{en,de}.json.gz` -> `data/en.json.gz`, `data/de.json.gz`.
 * Several groups give every combination, in order; nested braces are not supported.
 */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf("{");
  if (open === -1) {
    if (pattern.includes("}")) throw new Error(`unmatched "}"`);
    return [pattern];
  }
  const close = pattern.indexOf("}", open);
  if (close === -1) throw new Error(`unmatched "{"`);
  const body = pattern.slice(open + 1, close);
  if (body.includes("{")) throw new Error("nested braces are not supported");
  const alternatives = body.split(",");
  if (alternatives.some((alternative) => alternative.length === 0)) throw new Error(`empty alternative in "{${body}}"`);
  const rests = expandBraces(pattern.slice(close + 1));
  const prefix = pattern.slice(0, open);
  return alternatives.flatMap((alternative) => rests.map((rest) => prefix + alternative + rest));
}

const REPO_TYPE_PREFIXES: Record<string, HubRepoType> = { datasets: "dataset", models: "model", spaces: "space" };
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Parses an `hf://` URI into the files it names.
 *
 * Shapes: `hf://datasets/OWNER/NAME[@REVISION]/PATH`, `hf://spaces/...`, `hf://models/OWNER/NAME/...`
 * or `hf://OWNER/NAME/...` for models (the `HfFileSystem` convention). A revision holding `/`
 * is written URL-encoded (`@refs%2Fconvert%2Fparquet`). Brace groups in the path expand to
 * several files: `hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz`.
 *
 * @example
 * parseHubUri("hf://datasets/GAIR/lima@main/train.jsonl")
 * // [{ repo: { type: "dataset", name: "GAIR/lima" }, revision: "main", path: "train.jsonl", uri: "hf://datasets/GAIR/lima@main/train.jsonl" }]
 */
export function parseHubUri(uri: string): HubFileReference[] {
  if (!isHubUri(uri)) throw new HubUriError(uri, `it does not start with ${HUB_URI_SCHEME}`);
  const rest = uri.slice(HUB_URI_SCHEME.length);
  const segments = rest.split("/");
  let type: HubRepoType = "model";
  if (segments[0] !== undefined && segments[0] in REPO_TYPE_PREFIXES) {
    type = REPO_TYPE_PREFIXES[segments[0]] as HubRepoType;
    segments.shift();
  } else if (segments[0] === "dataset" || segments[0] === "model" || segments[0] === "space") {
    throw new HubUriError(uri, `the repository type is plural: "${segments[0]}s/"`);
  }
  const [owner, nameWithRevision, ...pathSegments] = segments;
  if (!owner || !nameWithRevision) throw new HubUriError(uri, "the repository must be written OWNER/NAME");
  const at = nameWithRevision.indexOf("@");
  const name = at === -1 ? nameWithRevision : nameWithRevision.slice(0, at);
  let revision: string | undefined;
  if (at !== -1) {
    try {
      revision = decodeURIComponent(nameWithRevision.slice(at + 1));
    } catch {
      throw new HubUriError(uri, "the revision is not valid URL encoding");
    }
    if (!revision) throw new HubUriError(uri, `"@" must be followed by a branch, tag or commit sha`);
  }
  for (const part of [owner, name]) {
    if (!NAME_PATTERN.test(part) || part.includes("{")) {
      throw new HubUriError(uri, `"${part}" is not a valid owner or repository name`);
    }
  }
  const pathPattern = pathSegments.join("/");
  if (!pathPattern) throw new HubUriError(uri, "it names a repository but no file inside it");
  let paths: string[];
  try {
    paths = expandBraces(pathPattern);
  } catch (error) {
    throw new HubUriError(uri, `bad brace group: ${(error as Error).message}`);
  }
  const prefix = `${HUB_URI_SCHEME}${type === "model" ? "" : `${type}s/`}${owner}/${nameWithRevision}/`;
  return paths.map((path) => {
    const parts = path.split("/");
    if (parts.some((part) => part === "" || part === "." || part === "..")) {
      throw new HubUriError(uri, `the file path "${path}" has an empty, "." or ".." segment`);
    }
    if (/[*?[\]]/.test(path)) throw new HubUriError(uri, "glob patterns are not supported; list files with {a,b}");
    return { repo: { type, name: `${owner}/${name}` }, revision, path, uri: prefix + path };
  });
}
