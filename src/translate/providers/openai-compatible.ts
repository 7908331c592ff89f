import type OpenAI from "openai";
import { z } from "zod";
import { parseOptions } from "../../parse-options";
import { parseNeutralText, placeholderToken } from "../segment";
import type { TranslationProvider, TranslationRequest, TranslationResponse } from "../translation-provider";
import { createOpenAIClient, toOpenAICallError } from "../../remote/openai-client";
import { MissingApiKeyError } from "../translation-errors";

/** Version of the prompt below; part of the cache identity so a new prompt never reuses old output. */
export const TRANSLATION_PROMPT_VERSION = "1";

export const openAITranslatorOptionsSchema = z.strictObject({
  /** API key; defaults to `OPENAI_API_KEY`. Read at the first request. */
  apiKey: z.string().min(1).optional(),
  /** Base URL of any OpenAI-compatible endpoint (`http://host/v1`); defaults to `OPENAI_BASE_URL`. */
  baseUrl: z.string().url().optional(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
  baseURL: z.string().url().optional(),
  /** Model name; defaults to `OPENAI_MODEL`, then `gpt-4o-mini`. */
  model: z.string().min(1).optional(),
  /** Sampling temperature (default 0). */
  temperature: z.number().min(0).max(2).optional(),
  /** Extra words for the cache identity. */
  label: z.string().min(1).optional(),
  /** Price per million source characters for estimates; LLMs bill tokens, so none by default. */
  price: z.strictObject({ perMillionCharacters: z.number().nonnegative(), currency: z.string() }).optional(),
  /** Environment to read variables from (default `process.env`). */
  env: z.record(z.string(), z.string().optional()).optional(),
});
/** Old option names still accepted (with a deprecation warning), and their new names. */
export const openAITranslatorRenamedOptions: Readonly<Record<string, string>> = { baseURL: "baseUrl" };

export type OpenAITranslatorOptions = z.input<typeof openAITranslatorOptionsSchema>;

const PLACEHOLDER_PATTERN = /⟦(\d+)⟧/g;

function languageName(code: string): string {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** The system prompt: translation only, placeholders kept. */
export function buildTranslationPrompt(from: string, to: string): string {
  return [
    `You are a professional translator. Translate the user's message from ${languageName(from)} to ${languageName(to)}.`,
    "Reply with the translation only: no explanations, notes, or quotation marks around it.",
    "The text is markdown; keep its punctuation and formatting.",
    "Tokens such as ⟦0⟧ stand for code, links or formulas: copy every token exactly once and unchanged to the matching place in the translation.",
  ].join(" ");
}

/**
 * Creates a translator for any OpenAI-compatible chat endpoint (`POST /v1/chat/completions`).
 * One segment per request; protected spans travel as `⟦n⟧` tokens. The client's retries are off.
 */
export function createOpenAITranslator(options: OpenAITranslatorOptions = {}): TranslationProvider {
  const parsed = parseOptions(openAITranslatorOptionsSchema, options, "createOpenAITranslator", openAITranslatorRenamedOptions);
  const env = parsed.env ?? process.env;
  const model = parsed.model ?? env.OPENAI_MODEL ?? "gpt-4o-mini";
  const temperature = parsed.temperature ?? 0;
  let client: OpenAI | undefined;

  const getClient = async (): Promise<OpenAI> => {
    if (client) return client;
    const apiKey = parsed.apiKey ?? env.OPENAI_API_KEY;
    if (!apiKey) {
      throw new MissingApiKeyError(
        "The OpenAI-compatible translator needs an API key: pass the apiKey option or set the OPENAI_API_KEY environment variable",
      );
    }
    const baseUrl = parsed.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
    client = await createOpenAIClient({ apiKey, ...(baseUrl ? { baseUrl } : {}) });
    return client;
  };

  return {
    id: ["openai", `model=${model}`, `temperature=${temperature}`, `prompt=${TRANSLATION_PROMPT_VERSION}`, parsed.label && `label=${parsed.label}`]
      .filter(Boolean)
      .join(":"),
    name: "openai",
    limits: { maxSegmentsPerRequest: 1, maxRequestBytes: 256 * 1024 },
    ...(parsed.price ? { price: parsed.price } : {}),
    measureText(text) {
      return Buffer.byteLength(text);
    },
    async doTranslate(request: TranslationRequest): Promise<TranslationResponse> {
      const openai = await getClient();
      const translations: string[] = [];
      for (const text of request.texts) {
        const content = parseNeutralText(text)
          .map((piece) => (typeof piece === "string" ? piece : `⟦${piece.placeholder}⟧`))
          .join("");
        let reply: string;
        try {
          const completion = await openai.chat.completions.create(
            {
              model,
              temperature,
              messages: [
                { role: "system", content: buildTranslationPrompt(request.from, request.to) },
                { role: "user", content },
              ],
            },
            { ...(request.signal ? { signal: request.signal } : {}), ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}) },
          );
          reply = completion.choices[0]?.message?.content ?? "";
        } catch (error) {
          throw toOpenAICallError(error, { service: "openai", label: "The OpenAI-compatible translator", keyEnv: "OPENAI_API_KEY" });
        }
        translations.push(reply.replace(PLACEHOLDER_PATTERN, (_token, digits: string) => placeholderToken(Number(digits))));
      }
      return { translations };
    },
  };
}
