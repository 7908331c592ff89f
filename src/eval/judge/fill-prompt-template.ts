import { JudgeInputError } from "./judge-errors";

/**
 * Fills a judge prompt the way Python's `str.format(**values)` does for FastChat's templates:
 * `{name}` is replaced by its value, `{{` and `}}` stand for literal braces, and a placeholder
 * without a value is an error (Python raises KeyError). Values are inserted verbatim, never
 * re-scanned, so braces inside an answer are safe.
 */
export function fillPromptTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, name: string | undefined) => {
    if (whole === "{{") return "{";
    if (whole === "}}") return "}";
    const key = name ?? "";
    if (!Object.hasOwn(values, key)) {
      throw new JudgeInputError(
        `judge prompt placeholder {${key}} has no value (available: ${Object.keys(values).map((item) => `{${item}}`).join(", ")})`,
      );
    }
    return values[key]!;
  });
}

/** The `{name}` placeholders of a template, in order of first appearance (`{{`/`}}` skipped). */
export function listPromptPlaceholders(template: string): string[] {
  const names: string[] = [];
  for (const match of template.matchAll(/\{\{|\}\}|\{([^{}]*)\}/g)) {
    if (match[1] !== undefined && !names.includes(match[1])) names.push(match[1]);
  }
  return names;
}
