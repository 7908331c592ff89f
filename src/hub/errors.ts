import { PolyglotError, UsageError } from "../errors";
import { RemoteCallError } from "../remote/remote-call-error";

/** Kinds of repository on the Hugging Face Hub. */
export type HubRepoType = "dataset" | "model" | "space";

/** A repository on the hub: its kind and `owner/name`. */
export interface HubRepo {
  type: HubRepoType;
  name: string;
}

/** `datasets/GAIR/lima`, the form `@huggingface/hub` accepts as a repo designation. */
export function formatRepoDesignation(repo: HubRepo): string {
  return repo.type === "model" ? repo.name : `${repo.type}s/${repo.name}`;
}

/** The repository's page on the hub, where a user accepts a gated dataset's terms. */
export function repoPageUrl(repo: HubRepo, hubUrl: string): string {
  return repo.type === "model" ? `${hubUrl}/${repo.name}` : `${hubUrl}/${repo.type}s/${repo.name}`;
}

/** `dataset GAIR/lima`: how messages name a repository. */
export function describeRepo(repo: HubRepo): string {
  return `${repo.type} ${repo.name}`;
}

/** Where on the hub a failed call was aimed. */
export interface HubErrorContext {
  repo: HubRepo;
  hubUrl: string;
  /** File inside the repository, when the call was about one file. */
  path?: string;
  /** Revision as the user asked for it (branch, tag or sha); undefined means the default branch. */
  revision?: string;
  /** The commit sha that revision resolved to, when known. */
  commit?: string;
}

/**
 * Base class of hub failures: a {@link RemoteCallError} of the `hub` service (status, whether
 * retrying may help, message and cause chain redacted of tokens), plus the repository and path.
 */
export class HubError extends RemoteCallError {
  readonly repo?: HubRepo;
  readonly path?: string;

  constructor(
    message: string,
    options: { statusCode?: number; isRetryable?: boolean; retryAfterMs?: number; repo?: HubRepo; path?: string; cause?: unknown } = {},
  ) {
    super(message, {
      service: "hub",
      ...(options.statusCode === undefined ? {} : { statusCode: options.statusCode }),
      isRetryable: options.isRetryable ?? false,
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      cause: options.cause,
    });
    this.repo = options.repo;
    this.path = options.path;
  }
}

const TOKEN_HELP =
  "create a read token at https://huggingface.co/settings/tokens and set it in the HF_TOKEN environment variable " +
  "(or run `hf auth login`, which saves it to ~/.cache/huggingface/token)";

/**
 * A gated repository refused the download: either no token was sent (`reason: "no-token"`), or the
 * token's account has not accepted the repository's terms (`reason: "terms-not-accepted"`).
 */
export class HubGatedRepoError extends HubError {
  readonly reason: "no-token" | "terms-not-accepted";
  readonly pageUrl: string;

  constructor(context: HubErrorContext & { reason: "no-token" | "terms-not-accepted"; statusCode?: number; cause?: unknown }) {
    const pageUrl = repoPageUrl(context.repo, context.hubUrl);
    const what = context.path ? `${context.path} from the gated ${describeRepo(context.repo)}` : `the gated ${describeRepo(context.repo)}`;
    const message =
      context.reason === "no-token"
        ? `Downloading ${what} needs a Hugging Face access token, and none was found. ` +
          `1) Log in at ${pageUrl} and accept the dataset's terms; 2) ${TOKEN_HELP}; 3) rerun. Nothing was written to the cache.`
        : `Your Hugging Face token has no access to ${what}: its account has not accepted the terms ` +
          `(or the access request is still pending). Open ${pageUrl} while logged in with the token's account, ` +
          `accept the conditions, then rerun. Nothing was written to the cache.`;
    super(message, { statusCode: context.statusCode, repo: context.repo, path: context.path, cause: context.cause });
    this.reason = context.reason;
    this.pageUrl = pageUrl;
  }
}

/** The hub rejected the token itself (expired, revoked or mistyped). */
export class HubUnauthorizedError extends HubError {
  constructor(context: HubErrorContext & { statusCode?: number; cause?: unknown; action?: string }) {
    super(
      `The hub at ${context.hubUrl} rejected the access token while ${context.action ?? `reading ${describeRepo(context.repo)}`} ` +
        `(HTTP ${context.statusCode ?? 401}). Check HF_TOKEN (or your saved token file); ${TOKEN_HELP}.`,
      { statusCode: context.statusCode, repo: context.repo, path: context.path, cause: context.cause },
    );
  }
}

/** The token is valid but may not write to the repository (wrong namespace or a read-only token). */
export class HubForbiddenError extends HubError {
  constructor(context: HubErrorContext & { statusCode?: number; cause?: unknown; action: string; serverMessage?: string }) {
    super(
      `The hub refused this token while ${context.action} (HTTP ${context.statusCode ?? 403}` +
        `${context.serverMessage ? `: ${context.serverMessage}` : ""}). Use a token with write access to the ` +
        `${context.repo.name.split("/")[0]} namespace (https://huggingface.co/settings/tokens).`,
      { statusCode: context.statusCode, repo: context.repo, path: context.path, cause: context.cause },
    );
  }
}

/** A repository, revision or file that does not exist (or that the token may not see). */
export class HubNotFoundError extends HubError {
  readonly missing: "repo" | "revision" | "file";

  constructor(context: HubErrorContext & { missing: "repo" | "revision" | "file"; statusCode?: number; cause?: unknown }) {
    const page = repoPageUrl(context.repo, context.hubUrl);
    const revision = context.revision ?? "main";
    const at =
      (context.revision ? `revision "${context.revision}"` : "the default branch") +
      (context.commit && context.commit !== context.revision ? ` (commit ${context.commit.slice(0, 12)})` : "");
    const message =
      context.missing === "repo"
        ? `${capitalize(describeRepo(context.repo))} was not found on ${context.hubUrl} (or it is private and ` +
          `your token cannot see it). Check the name at ${page}.`
        : context.missing === "revision"
          ? `Revision "${revision}" was not found in ${describeRepo(context.repo)}. Check the branch, tag or ` +
            `commit sha at ${page}/commits/main.`
          : `File "${context.path}" was not found in ${describeRepo(context.repo)} at ${at}. ` +
            `Check the path at ${page}/tree/${encodeURIComponent(context.commit ?? revision)}.`;
    super(message, { statusCode: context.statusCode ?? 404, repo: context.repo, path: context.path, cause: context.cause });
    this.missing = context.missing;
  }
}

/** What a failed download left on disk, so the user knows whether a rerun resumes. */
export interface KeptPartial {
  /** The `.incomplete` file that a rerun resumes from. */
  file: string;
  bytes: number;
  totalBytes: number;
}

/**
 * The connection to the hub failed (refused, reset, dropped midway). The message says whether a
 * partial download was kept and where, so a rerun can resume it.
 */
export class HubNetworkError extends HubError {
  readonly kept?: KeptPartial;

  constructor(context: { action: string; repo?: HubRepo; path?: string; kept?: KeptPartial; cause?: unknown; statusCode?: number }) {
    const reason = describeCause(context.cause);
    const kept = context.kept
      ? `Kept ${context.kept.bytes} of ${context.kept.totalBytes} bytes in ${context.kept.file}; rerun the same command to resume from there.`
      : "Nothing was kept; rerun the same command to start again.";
    super(`Network failure while ${context.action}${reason ? ` (${reason})` : ""}. ${kept}`, {
      statusCode: context.statusCode,
      isRetryable: true,
      repo: context.repo,
      path: context.path,
      cause: context.cause,
    });
    this.kept = context.kept;
  }
}

/** A downloaded or cached file whose size or checksum does not match what the hub announced. */
export class HubIntegrityError extends HubError {
  constructor(context: { repo: HubRepo; path: string; problem: string }) {
    super(
      `${context.path} from ${describeRepo(context.repo)} failed verification: ${context.problem}. ` +
        "The bad copy was deleted; rerun to download it again.",
      { repo: context.repo, path: context.path, isRetryable: true },
    );
  }
}

/** Any other error status from the hub, with the server's own message. */
export class HubApiCallError extends HubError {
  constructor(context: { action: string; statusCode: number; serverMessage?: string; repo?: HubRepo; path?: string; cause?: unknown }) {
    super(
      `The hub answered HTTP ${context.statusCode} while ${context.action}` +
        `${context.serverMessage ? `: ${context.serverMessage}` : ""}.` +
        (context.statusCode >= 500 || context.statusCode === 429 ? " This is usually temporary; rerun later." : ""),
      {
        statusCode: context.statusCode,
        isRetryable: context.statusCode >= 500 || context.statusCode === 429,
        repo: context.repo,
        path: context.path,
        cause: context.cause,
      },
    );
  }
}

/** An `hf://` URI that cannot be parsed; the message shows the accepted shapes. */
export class HubUriError extends UsageError {
  readonly uri: string;

  constructor(uri: string, problem: string) {
    super(
      `Invalid hub URI "${uri}": ${problem}. Expected hf://datasets/OWNER/NAME[@REVISION]/PATH ` +
        "(also hf://models/..., hf://spaces/...), e.g. hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz",
    );
    this.uri = uri;
  }
}

/** Publishing needs a token and none was given or found. */
export class HubTokenMissingError extends UsageError {
  constructor(action: string) {
    super(`${capitalize(action)} needs a Hugging Face token with write access: ${TOKEN_HELP.replace("a read token", "a write token")}.`);
  }
}

/** A study or run directory that is not ready to publish; every problem is listed. */
export class HubPushRefusedError extends PolyglotError {
  readonly problems: string[];

  constructor(directory: string, problems: string[]) {
    super(
      `Refusing to push ${directory} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.problems = problems;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Node's fetch reports `TypeError: fetch failed` with the socket error as `cause`: surface that. */
function describeCause(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      const text = typeof code === "string" && !current.message.includes(code) ? `${current.message} [${code}]` : current.message;
      if (text && !parts.includes(text)) parts.push(text);
      current = current.cause;
    } else if (typeof current === "string") {
      parts.push(current);
      break;
    } else break;
  }
  return parts.join(": ");
}
