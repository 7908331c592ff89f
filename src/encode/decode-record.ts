import type { CanonicalRecord } from "../record/canonical-record";
import type { EncodedRecord } from "../record/encoded-record";

/** Decodes a record from its encoded JSON line. */
export function decodeRecord(entry: EncodedRecord): CanonicalRecord {
  const line = new TextDecoder().decode(entry.chunk.subarray(entry.start, entry.start + entry.lineBytes));
  return JSON.parse(line) as CanonicalRecord;
}
