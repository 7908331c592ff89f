import { z } from "zod";
import { acceptDeprecatedNames } from "./deprecated-names";
import { ConfigError, UsageError, type ConfigIssue } from "./errors";

/** A public function was called with options its schema rejects; `issues` names each bad field by its path. */
export class InvalidOptionsError extends UsageError {
  readonly issues: readonly ConfigIssue[];

  constructor(functionName: string, issues: readonly ConfigIssue[], options: { cause?: unknown } = {}) {
    super(`invalid options for ${functionName}: ${issues.map((issue) => `${issue.path || "(options)"}: ${issue.message}`).join("; ")}`, options);
    this.issues = issues;
  }
}

/** Turns zod's issues into paths and messages (`corpora.0.languages.2: ...`); unknown keys are named. */
export function toConfigIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.code === "unrecognized_keys" ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}` : issue.message,
  }));
}

/**
 * Validates a public function's options object with its zod schema: the one validation path of
 * every public function. Problems become one `InvalidOptionsError` (a `UsageError`) that lists every
 * bad field with its path (`repo: expected OWNER/NAME; ...`), never a raw ZodError. `renamed` maps
 * old option names to new ones: they are still accepted, with a deprecation warning.
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  options: unknown,
  functionName: string,
  renamed: Readonly<Record<string, string>> = {},
): z.output<Schema> {
  let renamedOptions: unknown = options;
  try {
    if (Object.keys(renamed).length > 0) renamedOptions = acceptDeprecatedNames(options, renamed, functionName);
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidOptionsError(functionName, error.issues, { cause: error });
    throw error;
  }
  const result = schema.safeParse(renamedOptions);
  if (result.success) return result.data;
  throw new InvalidOptionsError(functionName, toConfigIssues(result.error), { cause: result.error });
}
