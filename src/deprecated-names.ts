import { ConfigError, type ConfigIssue } from "./errors";

const warned = new Set<string>();

/**
 * Warns once per process that an old name is still in use, as a Node `DeprecationWarning`
 * (printed on stderr by default; `--no-deprecation` silences it, `--throw-deprecation` makes it an error).
 * Library code never prints: this is Node's own channel for exactly this.
 */
export function warnDeprecated(oldName: string, newName: string, where: string): void {
  const code = `POLYGLOT_DEPRECATED_${oldName.replace(/^-+/, "").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase()}`;
  if (warned.has(`${code}:${where}`)) return;
  warned.add(`${code}:${where}`);
  process.emitWarning(`${where}: "${oldName}" is deprecated and will be removed; use "${newName}" instead`, { type: "DeprecationWarning", code });
}

/**
 * Accepts the old names of renamed options: each old key present is moved to its new name, with a
 * deprecation warning. Giving both names is a `ConfigError` naming the old one. Returns a copy;
 * anything but a plain object is returned as it is, for the schema to reject.
 *
 * ```ts
 * acceptDeprecatedNames({ serverUrl: "http://127.0.0.1:8080" }, { serverUrl: "baseUrl" }, "createDeepL")
 * // -> { baseUrl: "http://127.0.0.1:8080" }, and a DeprecationWarning
 * ```
 */
export function acceptDeprecatedNames(options: unknown, renames: Readonly<Record<string, string>>, where: string): unknown {
  if (typeof options !== "object" || options === null || Array.isArray(options)) return options;
  const result: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  const issues: ConfigIssue[] = [];
  for (const [oldName, newName] of Object.entries(renames)) {
    if (result[oldName] === undefined) {
      delete result[oldName];
      continue;
    }
    if (result[newName] !== undefined) {
      issues.push({ path: oldName, message: `the deprecated name of ${newName}; give only ${newName}` });
      continue;
    }
    warnDeprecated(oldName, newName, where);
    result[newName] = result[oldName];
    delete result[oldName];
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return result;
}
