import { applyFault, readBody, type HttpFault } from "./http-fault";
import { fakeTranslateMarkup } from "./fake-translation";
import { startLoopbackServer } from "./loopback-server";

/** One `POST /language/translate/v2` the fake server received. */
export interface GoogleRequestLog {
  readonly q: string[];
  readonly target: string;
  readonly source: string | undefined;
  readonly format: string | undefined;
  readonly key: string | null;
  status: number;
}

export interface GoogleTranslateServerOptions {
  /** The "translation" of one text; default {@link fakeTranslateMarkup}. */
  translate?: (text: string, target: string) => string;
  /** Only this API key (`?key=`) is accepted; others get 403. */
  apiKey?: string;
  latencyMs?: number;
  fault?: (request: { index: number; q: readonly string[]; target: string }) => HttpFault | undefined;
}

export interface GoogleTranslateServer {
  /** `http://127.0.0.1:<port>`; the v2 path is `/language/translate/v2`. */
  readonly url: string;
  readonly requests: GoogleRequestLog[];
  options: GoogleTranslateServerOptions;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 that speaks the Cloud Translation v2 REST protocol as
 * @google-cloud/translate sends it: `POST /language/translate/v2?key=…` with a JSON body
 * `{ q: [...], target, source, format }`, answering `{ data: { translations: [{ translatedText }] } }`
 * and errors as `{ error: { code, message, status } }`. At most 128 segments per request.
 */
export async function startGoogleTranslateServer(options: GoogleTranslateServerOptions = {}): Promise<GoogleTranslateServer> {
  const requests: GoogleRequestLog[] = [];
  let index = 0;
  const state = { options };
  const server = await startLoopbackServer(async (request, response) => {
    const current = state.options;
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const body = await readBody(request);
    if (request.method !== "POST" || url.pathname !== "/language/translate/v2") {
      send(404, { error: { code: 404, message: "Not found", status: "NOT_FOUND" } });
      return;
    }
    const key = url.searchParams.get("key");
    const json = JSON.parse(body || "{}") as { q?: string | string[]; target?: string; source?: string; format?: string };
    const q = Array.isArray(json.q) ? json.q : json.q === undefined ? [] : [json.q];
    const log: GoogleRequestLog = { q, target: json.target ?? "", source: json.source, format: json.format, key, status: 200 };
    requests.push(log);
    if (current.apiKey !== undefined && key !== current.apiKey) {
      log.status = 403;
      send(403, { error: { code: 403, message: "The request is missing a valid API key.", status: "PERMISSION_DENIED" } });
      return;
    }
    const fault = current.fault?.({ index: index++, q, target: log.target });
    if (fault && "status" in fault) {
      log.status = fault.status;
      fault.body ??= { error: { code: fault.status, message: `injected ${fault.status}`, status: "UNAVAILABLE" } };
    }
    if (await applyFault(fault, request, response)) return;
    if (current.latencyMs) await new Promise((resolve) => setTimeout(resolve, current.latencyMs));
    if (q.length > 128) {
      log.status = 400;
      send(400, { error: { code: 400, message: "Too many text segments", status: "INVALID_ARGUMENT" } });
      return;
    }
    const translate = current.translate ?? fakeTranslateMarkup;
    send(200, {
      data: {
        translations: q.map((text) => ({
          translatedText: translate(text, log.target),
          ...(json.source ? {} : { detectedSourceLanguage: "en" }),
        })),
      },
    });
  });
  return {
    url: server.url,
    requests,
    get options() {
      return state.options;
    },
    set options(value) {
      state.options = value;
    },
    close: () => server.close(),
  };
}
