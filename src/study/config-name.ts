import type { OutputFileInfo } from "../compose/write-compositions";

/** The Hugging Face config name of an output: `ENDEFRITES` or `lima-x-ENDEFRITES`. */
export function configNameOf(output: Pick<OutputFileInfo, "corpus" | "composition">, prefixCorpus: boolean): string {
  return prefixCorpus && output.corpus ? `${output.corpus}-${output.composition}` : output.composition;
}
