/** Base class of every error this library throws on purpose. */
export class PolyglotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in an input a problem was found. `line` is 1-based; `item` is the 0-based index in a JSON array. */
export interface InputLocation {
  file?: string;
  line?: number;
  item?: number;
  field?: string;
}

/** `fixtures/de.jsonl:12 field "messages.1.content"` */
export function formatLocation(location: InputLocation): string {
  let where = location.file ?? "<input>";
  if (location.line !== undefined) where += `:${location.line}`;
  else if (location.item !== undefined) where += ` item ${location.item}`;
  if (location.field) where += ` field "${location.field}"`;
  return where;
}

/** A problem with input data: the message names the file, line (or array item) and field. */
export class InputError extends PolyglotError {
  readonly file?: string;
  readonly line?: number;
  readonly item?: number;
  readonly field?: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(message: string, options: InputLocation & { cause?: unknown } = {}) {
    super(`${formatLocation(options)}: ${message}`, { cause: options.cause });
    this.reason = message;
    this.file = options.file;
    this.line = options.line;
    this.item = options.item;
    this.field = options.field;
  }
}

export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `corpora.0.languages.2`. */
  path: string;
  message: string;
}

/** A configuration with one or more problems; all of them are listed at once. */
export class ConfigError extends PolyglotError {
  readonly issues: ConfigIssue[];
  readonly file?: string;

  constructor(issues: ConfigIssue[], options: { file?: string; cause?: unknown } = {}) {
    const where = options.file ? ` in ${options.file}` : "";
    const lines = issues.map((issue) => `  - ${issue.path || "(root)"}: ${issue.message}`);
    super(`invalid configuration${where} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`, {
      cause: options.cause,
    });
    this.issues = issues;
    this.file = options.file;
  }
}

/** Wrong use of the command line or of a function's options (the CLI exits with code 2). */
export class UsageError extends PolyglotError {}
