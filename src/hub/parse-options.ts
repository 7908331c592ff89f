import { z } from "zod";
import { UsageError } from "../errors";

/**
 * Validates a public function's options object with its zod schema; problems become one
 * `UsageError` that lists every bad field (`repo: expected OWNER/NAME, ...`), never a raw ZodError.
 */
export function parseOptions<Schema extends z.ZodType>(schema: Schema, options: unknown, functionName: string): z.output<Schema> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(options)"}: ${issue.message}`);
  throw new UsageError(`invalid options for ${functionName}: ${problems.join("; ")}`);
}
