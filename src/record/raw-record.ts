import type { Role } from "./canonical-record";

/**
 * A message text still in its input's bytes: the JSON-escaped UTF-8 of `bytes[spans[0], spans[1])`,
 * `bytes[spans[2], spans[3])`, ... joined by `separator` (JSON-escaped too), exactly as
 * `JSON.stringify` would write the decoded text, without quotes.
 */
export interface RawText {
  spans: readonly number[];
  separator: string;
  /** Whether the JSON form contains escapes. */
  escaped: boolean;
  /** Unicode code points of the decoded text. */
  characters: number;
}

/**
 * A canonical record whose message texts have not been decoded (see `RecordEncoder.addRaw`): byte-level
 * readers of common formats produce it, so that the text is copied, never turned into JavaScript strings.
 */
export interface RawRecord {
  bytes: Uint8Array;
  id: string;
  lang: string;
  source: string;
  messages: readonly { role: Role; content: RawText }[];
  meta: Record<string, unknown>;
}
