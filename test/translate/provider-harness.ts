import { createDeepL } from "../../src/translate/providers/deepl";
import { createGoogleTranslate } from "../../src/translate/providers/google";
import { createOpenAITranslator } from "../../src/translate/providers/openai-compatible";
import type { TranslationProvider } from "../../src/translate/translation-provider";
import { startDeepLServer } from "../servers/deepl-server";
import { fakeTranslateMarkup, fakeTranslateText } from "../servers/fake-translation";
import { startGoogleTranslateServer } from "../servers/google-translate-server";
import type { HttpFault } from "../servers/http-fault";
import { startOpenAIServer, type OpenAIServerReply } from "../servers/openai-server";

export const TEST_KEY = "test-key-SECRET-4711";

/** A provider wired to its fake server, with the knobs the conformance suite needs. */
export interface ProviderHarness {
  /** The provider, with the key given. */
  provider(): TranslationProvider;
  /** The provider with no key anywhere (empty env). */
  providerWithoutKey(): TranslationProvider;
  /** The provider with a wrong key. */
  providerWithWrongKey(): TranslationProvider;
  /** Texts the server received, as sent (markup included). */
  sentTexts(): string[];
  /** Injects a fault into the n-th request from now on (0-based over all requests). */
  setFault(fault: (index: number) => HttpFault | undefined): void;
  /** Makes the server drop every placeholder from its answers (a service mangling markup). */
  dropPlaceholders(enabled: boolean): void;
  /** The environment variable that holds the key. */
  readonly keyVariable: string;
  close(): Promise<void>;
}

export interface HarnessFactory {
  readonly name: string;
  start(): Promise<ProviderHarness>;
}

export const harnesses: HarnessFactory[] = [
  {
    name: "deepl",
    async start() {
      const server = await startDeepLServer({ authKey: TEST_KEY });
      let fault: (index: number) => HttpFault | undefined = () => undefined;
      let drop = false;
      server.options = {
        authKey: TEST_KEY,
        fault: ({ index }) => fault(index),
        translate: (text, target) => {
          const translated = fakeTranslateMarkup(text, target);
          return drop ? translated.replace(/<x id="\d+"\/>/g, "") : translated;
        },
      };
      const make = (apiKey: string | undefined) => createDeepL({ ...(apiKey ? { apiKey } : {}), baseUrl: server.url, env: {} });
      return {
        provider: () => make(TEST_KEY),
        providerWithoutKey: () => make(undefined),
        providerWithWrongKey: () => make("wrong-key"),
        sentTexts: () => server.requests.flatMap((request) => request.texts),
        setFault: (next) => (fault = next),
        dropPlaceholders: (enabled) => (drop = enabled),
        keyVariable: "DEEPL_AUTH_KEY",
        close: () => server.close(),
      };
    },
  },
  {
    name: "google",
    async start() {
      let fault: (index: number) => HttpFault | undefined = () => undefined;
      let drop = false;
      const server = await startGoogleTranslateServer({
        apiKey: TEST_KEY,
        fault: ({ index }) => fault(index),
        translate: (text, target) => {
          const translated = fakeTranslateMarkup(text, target);
          return drop ? translated.replace(/<span translate="no" data-ph="\d+"><\/span>/g, "") : translated;
        },
      });
      const make = (apiKey: string | undefined) => createGoogleTranslate({ ...(apiKey ? { apiKey } : {}), baseUrl: server.url, env: {} });
      return {
        provider: () => make(TEST_KEY),
        providerWithoutKey: () => make(undefined),
        providerWithWrongKey: () => make("wrong-key"),
        sentTexts: () => server.requests.flatMap((request) => request.q),
        setFault: (next) => (fault = next),
        dropPlaceholders: (enabled) => (drop = enabled),
        keyVariable: "GOOGLE_TRANSLATE_API_KEY",
        close: () => server.close(),
      };
    },
  },
  {
    name: "openai",
    async start() {
      let fault: (index: number) => HttpFault | undefined = () => undefined;
      let drop = false;
      const server = await startOpenAIServer({
        handle(body, { index, headers }): OpenAIServerReply {
          if (headers.authorization !== `Bearer ${TEST_KEY}`) {
            return { status: 401, body: { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } } };
          }
          const injected = fault(index);
          if (injected) {
            if ("drop" in injected) return injected;
            if ("delayMs" in injected) return { delayMs: injected.delayMs, reply: translate(body.messages[1]?.content ?? "") };
            return {
              status: injected.status,
              headers: injected.retryAfter ? { "retry-after": injected.retryAfter } : {},
              body: { error: { message: `injected ${injected.status}`, type: "server_error" } },
            };
          }
          return translate(body.messages[1]?.content ?? "");
          function translate(content: string): string {
            const language = /to (\w+)\./.exec(body.messages[0]?.content ?? "")?.[1] ?? "German";
            const code = { German: "de", French: "fr", Italian: "it", Spanish: "es" }[language] ?? "de";
            const translated = content
              .split(/(⟦\d+⟧)/)
              .map((piece, position) => (position % 2 === 1 ? piece : fakeTranslateText(piece, code)))
              .join("");
            return drop ? translated.replace(/⟦\d+⟧/g, "") : translated;
          }
        },
      });
      const make = (apiKey: string | undefined) =>
        createOpenAITranslator({ ...(apiKey ? { apiKey } : {}), baseUrl: server.baseUrl, model: "test-model", env: {} });
      return {
        provider: () => make(TEST_KEY),
        providerWithoutKey: () => make(undefined),
        providerWithWrongKey: () => make("wrong-key"),
        sentTexts: () => server.requests.map((request) => request.body.messages[1]?.content ?? ""),
        setFault: (next) => (fault = next),
        dropPlaceholders: (enabled) => (drop = enabled),
        keyVariable: "OPENAI_API_KEY",
        close: () => server.close(),
      };
    },
  },
];
