import { Option, type Command } from "commander";
import { ConfigError, UsageError } from "../errors";
import { createTranslationProvider, PROVIDER_NAMES, type CreateTranslationProviderOptions, type ProviderName } from "../translate/create-translation-provider";
import type { TranslationProvider } from "../translate/translation-provider";
import { renamedFlagValue } from "./renamed-flag";

/** The translation-provider flags of `translate` and `mt-bench-x build`. */
export interface ProviderFlags {
  provider: ProviderName;
  /** `--base-url`. */
  baseUrl?: string;
  /** `--server-url`: the deprecated name of `--base-url`. */
  serverUrl?: string;
  /** `--model`: DeepL's model type, Google's model or the LLM's name. */
  model?: string;
  /** `--formality` (DeepL). */
  formality?: string;
  /** `--glossary-id` (DeepL). */
  glossaryId?: string;
  /** `--replay-provider` (cache): the recorded provider identity to replay. */
  replayProvider?: string;
}

/** Which flag sets each provider option, for messages. */
const FLAG_OF_OPTION: Record<string, string> = {
  baseUrl: "--base-url",
  model: "--model",
  modelType: "--model",
  formality: "--formality",
  glossaryId: "--glossary-id",
  providerId: "--replay-provider",
};

/** Adds `--provider`, `--base-url` (and its hidden old name `--server-url`) and `--model`. */
export function addProviderOptions(command: Command): Command {
  return command
    .addOption(new Option("--provider <name>", "translation provider").choices([...PROVIDER_NAMES]).default("deepl"))
    .option(
      "--base-url <url>",
      "endpoint of a compatible server: DeepL server URL, Google endpoint, OpenAI-compatible base URL (default DEEPL_SERVER_URL, GOOGLE_TRANSLATE_ENDPOINT, OPENAI_BASE_URL)",
    )
    .addOption(new Option("--server-url <url>", "deprecated name of --base-url").hideHelp())
    .option("--model <name>", "model: DeepL model type, Google model, or LLM name");
}

/** The provider options that the flags give, by provider (flags that do not apply to it are left out). */
export function providerOptionsFromFlags(flags: ProviderFlags): CreateTranslationProviderOptions {
  const baseUrl = renamedFlagValue({ newFlag: "--base-url", oldFlag: "--server-url", newValue: flags.baseUrl, oldValue: flags.serverUrl });
  const common = { ...(baseUrl ? { baseUrl } : {}) };
  switch (flags.provider) {
    case "deepl":
      return {
        provider: "deepl",
        ...common,
        ...(flags.formality ? { formality: flags.formality as "more" } : {}),
        ...(flags.glossaryId ? { glossaryId: flags.glossaryId } : {}),
        ...(flags.model ? { modelType: flags.model as "quality_optimized" } : {}),
      };
    case "google":
      return { provider: "google", ...common, ...(flags.model ? { model: flags.model } : {}) };
    case "openai":
      return { provider: "openai", ...common, ...(flags.model ? { model: flags.model } : {}) };
    case "cache":
      return { provider: "cache", ...(flags.replayProvider ? { providerId: flags.replayProvider } : {}) };
    default:
      throw new UsageError(`unknown provider "${String(flags.provider)}"; use one of ${PROVIDER_NAMES.join(", ")}`);
  }
}

/**
 * The translation provider of `translate` and `mt-bench-x build`, from their flags. A value the
 * provider rejects is a UsageError naming the flag (`--formality: Invalid option: ...`).
 */
export function createProviderFromFlags(flags: ProviderFlags): TranslationProvider {
  try {
    return createTranslationProvider(providerOptionsFromFlags(flags));
  } catch (error) {
    if (error instanceof ConfigError) {
      const problems = error.issues.map((issue) => `${FLAG_OF_OPTION[issue.path.split(".")[0]!] ?? (issue.path || "--provider")}: ${issue.message}`);
      throw new UsageError(problems.join("; "), { cause: error });
    }
    throw error;
  }
}
