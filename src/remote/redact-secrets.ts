/**
 * Keys never reach a message, a log line, a cache or a file: every remote error passes its
 * message and cause chain through {@link redactSecrets} before anyone can print it.
 */

/** Environment variables that hold credentials of the services this library calls. */
export const KEY_ENVIRONMENT_VARIABLES = [
  "DEEPL_AUTH_KEY",
  "GOOGLE_TRANSLATE_API_KEY",
  "GOOGLE_API_KEY",
  "OPENAI_API_KEY",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
] as const;

const registered = new Set<string>();

/**
 * Remembers a key read from somewhere else than the usual variables (e.g. the judge's
 * `--api-key-env`), so that every later redaction removes it too.
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value);
}

/** The `[REDACTED]` marker that replaces a key. */
export const REDACTED = "[REDACTED]";

const PATTERNS: [RegExp, string][] = [
  [/(authorization["']?\s*[:=]\s*["']?)(?:bearer|deepl-auth-key|token|basic)?\s*[^\s"',}]+/gi, `$1${REDACTED}`],
  [/\b(Bearer|DeepL-Auth-Key)\s+[^\s"',}]+/g, `$1 ${REDACTED}`],
  [/([?&](?:key|api_key|apikey|token|access_token|auth_key)=)[^&\s"'#]+/gi, `$1${REDACTED}`],
  [/\bhf_[A-Za-z0-9]{8,}/g, REDACTED],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, REDACTED],
];

/** Replaces every known key (environment, registered) and every credential-shaped token in `text`. */
export function redactSecrets(text: string, env: Record<string, string | undefined> = process.env): string {
  let result = text;
  const secrets = new Set(registered);
  for (const name of KEY_ENVIRONMENT_VARIABLES) {
    const value = env[name];
    if (value && value.length >= 4) secrets.add(value);
  }
  // Longest first, so a key that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/**
 * A copy of an error's cause chain with nothing but redacted messages, names and codes: client
 * errors carry request configs, headers and URLs (with the key) that must never be serialised.
 */
export function redactCause(cause: unknown, depth = 0): Error | undefined {
  if (cause === undefined || cause === null || depth > 5) return undefined;
  const source = cause instanceof Error ? cause : new Error(typeof cause === "string" ? cause : describeValue(cause));
  const copy = new Error(redactSecrets(source.message), { cause: redactCause(source.cause, depth + 1) });
  copy.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") (copy as Error & { code?: unknown }).code = code;
  // The stack names files and lines only, but its first line repeats the message.
  copy.stack = redactSecrets(source.stack ?? `${copy.name}: ${copy.message}`);
  return copy;
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * A warning when Node's debug logging would print request headers (with keys) on stderr, or
 * undefined. `NODE_DEBUG=http` prints `Authorization: DeepL-Auth-Key ...` itself, outside this library.
 */
export function debugLoggingWarning(env: Record<string, string | undefined> = process.env): string | undefined {
  const debug = env.NODE_DEBUG ?? "";
  if (!/\b(http|http2|https|net|tls|fetch|undici)\b/i.test(debug)) return undefined;
  const set = KEY_ENVIRONMENT_VARIABLES.filter((name) => env[name]);
  if (set.length === 0) return undefined;
  return (
    `warning: NODE_DEBUG=${debug} makes Node print request headers, including the key in ${set.join(", ")}, on stderr; ` +
    "unset NODE_DEBUG before sharing this output"
  );
}
