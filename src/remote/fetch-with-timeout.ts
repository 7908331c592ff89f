/**
 * A `fetch` that gives up on a request when the service stays silent for `timeoutMs`: no response
 * headers in that time, or no body bytes for that long while a body streams. A slow but moving
 * download of a large file never times out; a stalled one does, with an `ETIMEDOUT` error that the
 * hub layer treats as a dropped connection (retried, and a download resumes where it stopped).
 */
export function createFetchWithTimeout(options: { timeoutMs: number; fetch?: typeof fetch }): typeof fetch {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const { timeoutMs } = options;
  return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const controller = new AbortController();
    const timedOut = (): void => {
      const error = Object.assign(new Error(`no answer for ${timeoutMs / 1000} s (--timeout)`), { code: "ETIMEDOUT" });
      controller.abort(error);
    };
    let timer = setTimeout(timedOut, timeoutMs);
    const restart = (): void => {
      clearTimeout(timer);
      timer = setTimeout(timedOut, timeoutMs);
    };
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    let response: Response;
    try {
      response = await baseFetch(input, { ...init, signal });
    } catch (error) {
      clearTimeout(timer);
      throw controller.signal.aborted ? Object.assign(new TypeError("fetch failed"), { cause: controller.signal.reason }) : error;
    }
    if (!response.body) {
      clearTimeout(timer);
      return response;
    }
    restart();
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            clearTimeout(timer);
            stream.close();
            return;
          }
          restart();
          stream.enqueue(value);
        } catch (error) {
          clearTimeout(timer);
          stream.error(controller.signal.aborted ? Object.assign(new TypeError("terminated"), { cause: controller.signal.reason }) : error);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    // A constructed Response has no URL; callers read it to name a failed request or a redirect.
    Object.defineProperty(wrapped, "url", { value: response.url });
    Object.defineProperty(wrapped, "redirected", { value: response.redirected });
    return wrapped;
  }) as typeof fetch;
}
