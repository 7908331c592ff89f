import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors";
import { createTranslationProvider } from "../../src/translate/create-translation-provider";
import { createDeepL } from "../../src/translate/providers/deepl";
import { createOpenAITranslator } from "../../src/translate/providers/openai-compatible";
import { translateDocuments } from "../../src/translate/translate-documents";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { TranslationQuotaError } from "../../src/translate/translation-errors";
import { startDeepLServer } from "../servers/deepl-server";
import { startOpenAIServer } from "../servers/openai-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

describe("provider options", () => {
  const temporaryDirectory = useTemporaryDirectories({ prefix: "provider-options-" });
  it("puts output-changing options in the identity, never keys or URLs", () => {
    const provider = createDeepL({ apiKey: "secret-key", baseUrl: "http://127.0.0.1:1", formality: "more", modelType: "quality_optimized", glossaryId: "g1" });
    expect(provider.id).toBe("deepl:model=quality_optimized:formality=more:glossary=g1");
    const llm = createTranslationProvider({ provider: "openai", model: "m", apiKey: "secret-key", baseUrl: "http://127.0.0.1:1/v1" });
    expect(llm.id).toBe("openai:model=m:temperature=0:prompt=1");
    expect(`${provider.id}${llm.id}`).not.toMatch(/secret|127\.0\.0\.1/);
  });

  it("reports unknown or invalid options as a ConfigError listing each", () => {
    expect(() => createTranslationProvider({ provider: "deepl", formality: "rude", colour: 1 } as never)).toThrow(ConfigError);
    try {
      createTranslationProvider({ provider: "deepl", formality: "rude", colour: 1 } as never);
    } catch (error) {
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual(["", "formality"].sort());
    }
  });

  it("puts a sha256 of DeepL's context in the cache identity, never the text", () => {
    const context = "A cooking blog.";
    const sha256 = createHash("sha256").update(context).digest("hex");
    expect(createDeepL({ context, env: {} }).id).toBe(`deepl:context=sha256:${sha256}`);
    expect(createDeepL({ context: "A cooking blog!", env: {} }).id).not.toBe(createDeepL({ context, env: {} }).id);
  });

  it("sends DeepL's formality, glossary and context as deepl-node does", async () => {
    const server = await startDeepLServer();
    const directory = await temporaryDirectory();
    const cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
    try {
      await translateDocuments({
        documents: ["Hello world, this is good."],
        from: "en",
        to: "de",
        provider: createDeepL({ apiKey: "k", baseUrl: server.url, formality: "prefer_less", glossaryId: "gloss-1", context: "A cooking blog.", env: {} }),
        cache,
      });
      const params = server.requests[0]!.params;
      expect(params.formality).toEqual(["prefer_less"]);
      expect(params.glossary_id).toEqual(["gloss-1"]);
      expect(params.context).toEqual(["A cooking blog."]);
      expect(params.show_billed_characters).toEqual(["1"]);
      expect(params.target_lang).toEqual(["de"]);
    } finally {
      await cache.close();
      await server.close();
    }
  });

  it("OpenAI-compatible: sends the model, temperature 0 and a prompt that keeps placeholders; insufficient_quota stops cleanly", async () => {
    let quota = false;
    const server = await startOpenAIServer({
      handle(body) {
        if (quota) return { status: 429, body: { error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } } };
        return body.messages[1]!.content.replace("Hello", "Hallo");
      },
    });
    const directory = await temporaryDirectory();
    const cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
    const provider = createOpenAITranslator({ apiKey: "k", baseUrl: server.baseUrl, model: "translator-1", env: {} });
    try {
      const { translations } = await translateDocuments({ documents: ["Hello `x` there"], from: "en", to: "fr", provider, cache, retry: { minBackoffMs: 1, maxBackoffMs: 2 } });
      expect(translations[0]).toBe("Hallo `x` there");
      const request = server.requests[0]!.body;
      expect(request.model).toBe("translator-1");
      expect(request.temperature).toBe(0);
      expect(request.messages[0]!.content).toContain("from English to French");
      expect(request.messages[0]!.content).toContain("⟦0⟧");
      expect(request.messages[1]!.content).toBe("Hello ⟦0⟧ there");

      quota = true;
      const error = await translateDocuments({ documents: ["Another sentence here."], from: "en", to: "fr", provider, cache, retry: { minBackoffMs: 1, maxBackoffMs: 2 } }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(TranslationQuotaError);
      expect(server.requests).toHaveLength(2);
    } finally {
      await cache.close();
      await server.close();
    }
  });
});
