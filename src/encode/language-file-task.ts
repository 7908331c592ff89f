import type { EncodedLanguage } from "../record/encoded-record";
import type { SourceFormat } from "../sources/read-source";

/** One language file to read and encode: in this thread or, posted as a message, in an encode worker. */
export interface EncodeLanguageFileTask {
  path: string;
  lang: string;
  format?: SourceFormat;
  source?: string;
  /** Keep empty messages (`--allow-empty`). */
  allowEmpty?: boolean;
}

/** A language file's encoded records, and the file's hash for the manifest. */
export interface EncodedLanguageFile {
  encoded: EncodedLanguage;
  sha256: string;
}
