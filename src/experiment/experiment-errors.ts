import { PolyglotError } from "../errors";

/** A job that failed or cannot start: the message says which job, which step and what to do. */
export class ExperimentJobError extends PolyglotError {}

/** An executor could not do its work (sbatch refused a script, a job is still queued, ...). */
export class ExecutorError extends PolyglotError {}
