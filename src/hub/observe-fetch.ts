/** What the last failed response said, from the headers `@huggingface/hub`'s `HubApiError` drops. */
export interface ObservedFailure {
  url: string;
  status: number;
  /** `X-Error-Code`: `GatedRepo`, `RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, ... */
  errorCode?: string;
  /** `X-Error-Message`, the hub's human-readable reason. */
  errorMessage?: string;
}

/** A `fetch` that remembers what it saw, for one hub operation. */
export interface ObservedFetch {
  fetch: typeof fetch;
  /** The most recent non-2xx/3xx response. */
  lastFailure(): ObservedFailure | undefined;
  /** Status of the most recent request that carried a `Range` header (206 = honoured, 200 = ignored). */
  lastRangeStatus(): number | undefined;
}

/**
 * Wraps `fetch` so that the hub's error headers survive: `@huggingface/hub` turns failures into a
 * `HubApiError` holding only the status and body, but telling a gated repository (401/403 with
 * `X-Error-Code: GatedRepo`) from a missing one (401/404 with `RepoNotFound`) needs the header.
 * Requests pass unchanged, except that `identityEncoding` asks for uncompressed bodies on GETs.
 * Create one per operation so parallel operations do not mix.
 */
export function createObservedFetch(
  baseFetch: typeof fetch = globalThis.fetch,
  options: { identityEncoding?: boolean } = {},
): ObservedFetch {
  let failure: ObservedFailure | undefined;
  let rangeStatus: number | undefined;
  const observed = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    // (fetch itself already asks for identity on range requests.)
    if (options.identityEncoding && (init?.method ?? "GET").toUpperCase() === "GET" && !hasRangeHeader(init?.headers)) {
      // Downloads must be the stored bytes: a CDN that compresses on the fly would make sizes,
      // checksums and byte ranges refer to something else.
      const headers = new Headers(init?.headers);
      headers.set("accept-encoding", "identity");
      init = { ...init, headers };
    }
    const response = await baseFetch(input, init);
    if (hasRangeHeader(init?.headers)) rangeStatus = response.status;
    if (response.status >= 400) {
      failure = {
        url: response.url || String(input instanceof Request ? input.url : input),
        status: response.status,
        errorCode: response.headers.get("x-error-code") ?? undefined,
        errorMessage: response.headers.get("x-error-message") ?? undefined,
      };
    }
    return response;
  }) as typeof fetch;
  return { fetch: observed, lastFailure: () => failure, lastRangeStatus: () => rangeStatus };
}

function hasRangeHeader(headers: NonNullable<Parameters<typeof fetch>[1]>["headers"]): boolean {
  if (!headers) return false;
  if (headers instanceof Headers) return headers.has("range");
  if (Array.isArray(headers)) return headers.some(([name]) => name?.toLowerCase() === "range");
  return Object.keys(headers).some((name) => name.toLowerCase() === "range");
}
