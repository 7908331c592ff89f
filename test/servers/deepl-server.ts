import { applyFault, readBody, type HttpFault } from "./http-fault";
import { billableCharacters, fakeTranslateMarkup } from "./fake-translation";
import { startLoopbackServer } from "./loopback-server";

/** One `POST /v2/translate` the fake DeepL server received. */
export interface DeepLRequestLog {
  readonly texts: string[];
  readonly targetLang: string;
  readonly sourceLang: string | undefined;
  readonly params: Record<string, string[]>;
  readonly authorization: string | undefined;
  /** Answer status (200, or the fault's). */
  status: number;
}

export interface DeepLServerOptions {
  /** The "translation" of one text (markup included); default: {@link fakeTranslateMarkup}. */
  translate?: (text: string, targetLang: string) => string;
  /** Only this key is accepted (`Authorization: DeepL-Auth-Key <key>`); others get 403. */
  authKey?: string;
  /** Characters allowed in the billing period; a request that would exceed it gets 456. */
  characterLimit?: number;
  /** Added to every answer. */
  latencyMs?: number;
  /** A fault for the n-th (0-based) translate request, or undefined to answer normally. */
  fault?: (request: { index: number; texts: readonly string[]; targetLang: string }) => HttpFault | undefined;
}

/** A running fake DeepL API. */
export interface DeepLServer {
  /** `http://127.0.0.1:<port>`, for deepl-node's `serverUrl`. */
  readonly url: string;
  readonly requests: DeepLRequestLog[];
  /** Characters billed so far (successful requests only), as DeepL counts them: tags excluded. */
  readonly billedCharacters: number;
  /** Every text of every successful request, in arrival order. */
  readonly translatedTexts: string[];
  options: DeepLServerOptions;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 (port 0) that speaks DeepL's wire protocol as deepl-node uses it:
 * form-encoded `POST /v2/translate` (repeated `text`, `target_lang`, `tag_handling`, `ignore_tags`,
 * `show_billed_characters`) answering `{ translations: [{ detected_source_language, text, billed_characters }] }`,
 * and `GET /v2/usage`. It enforces DeepL's limits (50 texts, 128 KiB per request).
 */
export async function startDeepLServer(options: DeepLServerOptions = {}): Promise<DeepLServer> {
  const requests: DeepLRequestLog[] = [];
  const translatedTexts: string[] = [];
  let billed = 0;
  let translateIndex = 0;
  const state = { options };

  const server = await startLoopbackServer(async (request, response) => {
    const current = state.options;
    const authorization = request.headers.authorization;
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (current.authKey !== undefined && authorization !== `DeepL-Auth-Key ${current.authKey}`) {
      await readBody(request);
      send(403, { message: "Wrong endpoint or invalid auth key" });
      return;
    }
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method === "GET" && url.pathname === "/v2/usage") {
      send(200, { character_count: billed, character_limit: current.characterLimit ?? 500_000 });
      return;
    }
    if (request.method !== "POST" || url.pathname !== "/v2/translate") {
      send(404, { message: "Not found" });
      return;
    }
    const body = await readBody(request);
    if (Buffer.byteLength(body) > 128 * 1024) {
      send(413, { message: "Request Entity Too Large" });
      return;
    }
    if (!(request.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded")) {
      send(415, { message: "Unsupported Media Type" });
      return;
    }
    const form = new URLSearchParams(body);
    const params: Record<string, string[]> = {};
    for (const [key, value] of form) (params[key] ??= []).push(value);
    const texts = form.getAll("text");
    const targetLang = form.get("target_lang") ?? "";
    const log: DeepLRequestLog = {
      texts,
      targetLang,
      sourceLang: form.get("source_lang") ?? undefined,
      params,
      authorization,
      status: 200,
    };
    requests.push(log);
    const index = translateIndex++;
    const fault = current.fault?.({ index, texts, targetLang });
    if (fault && "status" in fault) log.status = fault.status;
    if (await applyFault(fault, request, response)) {
      if (fault && "drop" in fault) log.status = 0;
      return;
    }
    if (current.latencyMs) await new Promise((resolve) => setTimeout(resolve, current.latencyMs));
    if (texts.length === 0 || targetLang === "") {
      log.status = 400;
      send(400, { message: "Parameter 'text' and 'target_lang' are required" });
      return;
    }
    if (texts.length > 50) {
      log.status = 400;
      send(400, { message: "Too many texts: at most 50 per request" });
      return;
    }
    const tagHandling = form.get("tag_handling") !== null;
    const counts = texts.map((text) => billableCharacters(text, tagHandling));
    const requestCharacters = counts.reduce((sum, count) => sum + count, 0);
    if (current.characterLimit !== undefined && billed + requestCharacters > current.characterLimit) {
      log.status = 456;
      send(456, { message: "Quota Exceeded" });
      return;
    }
    billed += requestCharacters;
    translatedTexts.push(...texts);
    const translate = current.translate ?? fakeTranslateMarkup;
    send(200, {
      translations: texts.map((text, position) => ({
        detected_source_language: (form.get("source_lang") ?? "EN").toUpperCase(),
        text: translate(text, targetLang),
        billed_characters: counts[position],
      })),
    });
  });
  return {
    url: server.url,
    requests,
    translatedTexts,
    get billedCharacters() {
      return billed;
    },
    get options() {
      return state.options;
    },
    set options(value) {
      state.options = value;
    },
    close: () => server.close(),
  };
}
