import { HubApiError, InvalidApiResponseFormatError } from "@huggingface/hub";
import {
  HubApiCallError,
  HubError,
  HubForbiddenError,
  HubGatedRepoError,
  HubNetworkError,
  HubNotFoundError,
  HubUnauthorizedError,
  type HubErrorContext,
  type KeptPartial,
} from "./errors";
import type { ObservedFetch } from "./observe-fetch";

/** How a failed call was made, to turn the raw failure into an actionable typed error. */
export interface FailureContext extends HubErrorContext {
  /** `downloading train.jsonl from dataset GAIR/lima`: completes "Network failure while ...". */
  action: string;
  /** Whether an `Authorization` header was sent. */
  tokenSent: boolean;
  observed?: ObservedFetch;
  /** For downloads: what is on disk for a later resume. */
  kept?: KeptPartial;
}

/**
 * Turns what `@huggingface/hub` or `fetch` threw into one of the typed hub errors, reading the
 * `X-Error-Code` header the wrapped fetch kept. Errors that are already typed pass through.
 */
export function classifyHubFailure(error: unknown, context: FailureContext): Error {
  if (error instanceof HubError) return error;
  if (error instanceof HubApiError) {
    const failure = context.observed?.lastFailure();
    const status = error.statusCode;
    const code = failure?.status === status ? failure.errorCode : undefined;
    const serverMessage = failure?.errorMessage ?? readServerMessage(error);
    if (code === "GatedRepo") {
      return new HubGatedRepoError({
        ...context,
        reason: !context.tokenSent || status === 401 ? "no-token" : "terms-not-accepted",
        statusCode: status,
        cause: error,
      });
    }
    if (code === "RepoNotFound") return new HubNotFoundError({ ...context, missing: "repo", statusCode: status, cause: error });
    if (code === "RevisionNotFound") return new HubNotFoundError({ ...context, missing: "revision", statusCode: status, cause: error });
    if (code === "EntryNotFound") return new HubNotFoundError({ ...context, missing: "file", statusCode: status, cause: error });
    if (status === 401) {
      // Anonymous calls to a missing or private repository answer 401 as well.
      return context.tokenSent
        ? new HubUnauthorizedError({ ...context, statusCode: status, cause: error })
        : new HubNotFoundError({ ...context, missing: "repo", statusCode: status, cause: error });
    }
    if (status === 403) return new HubForbiddenError({ ...context, statusCode: status, cause: error, serverMessage });
    if (status === 404) {
      return new HubNotFoundError({ ...context, missing: context.path ? "file" : "repo", statusCode: status, cause: error });
    }
    return new HubApiCallError({ action: context.action, statusCode: status, serverMessage, repo: context.repo, path: context.path, cause: error });
  }
  if (error instanceof InvalidApiResponseFormatError) {
    return new HubApiCallError({ action: context.action, statusCode: 502, serverMessage: error.message, repo: context.repo, path: context.path, cause: error });
  }
  if (isNetworkFailure(error)) {
    return new HubNetworkError({ action: context.action, repo: context.repo, path: context.path, kept: context.kept, cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

const NETWORK_ERROR_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENETDOWN|UND_ERR_[A-Z_]+)$/;

/**
 * Node's fetch throws `TypeError("fetch failed")` with the socket error as `cause`, and a body
 * cut midway surfaces as `TypeError("terminated")`; `WebBlob.stream()` aborts with a bare string.
 */
export function isNetworkFailure(error: unknown): boolean {
  if (typeof error === "string") return true;
  if (!(error instanceof Error)) return false;
  if (error.name === "AbortError" || error.name === "TimeoutError") return true;
  if (error instanceof TypeError && /fetch failed|terminated|network|socket/i.test(error.message)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_ERROR_CODES.test(code)) return true;
  return error.cause !== undefined && error.cause !== error && isNetworkFailure(error.cause);
}

function readServerMessage(error: HubApiError): string | undefined {
  const data = error.data as { error?: unknown; message?: unknown } | undefined;
  const text = typeof data?.error === "string" ? data.error : typeof data?.message === "string" ? data.message : undefined;
  return text?.slice(0, 300) || undefined;
}
