import { PolyglotError } from "../../errors";

/** The judge has no API key; the message names the option and the environment variable. */
export class MissingJudgeApiKeyError extends PolyglotError {}

/** A benchmark or answer file does not fit the judging (missing prompt, reference, placeholder). */
export class JudgeInputError extends PolyglotError {}

/** Some judge calls failed for good: the judgments were written, with these as `score: -1`, and the run exits 1. */
export class JudgeCallsFailedError extends PolyglotError {
  readonly failed: number;
  readonly total: number;

  constructor(options: { failed: number; total: number; summaryPath: string; example: string }) {
    super(
      `${options.failed} of ${options.total} judge call(s) failed after retries (first: ${options.example}); ` +
        `their judgments are written with score -1 and listed in ${options.summaryPath}. ` +
        "Rerun the same command to call the judge again for them only (every answered call is cached).",
    );
    this.failed = options.failed;
    this.total = options.total;
  }
}
