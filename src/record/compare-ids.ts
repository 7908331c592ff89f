// The one order of record ids (and of languages) everywhere: corpus alignment, sampling and composition.
/** Ascending JavaScript string order (UTF-16 code units), spelled out so it is never locale-aware. */
export function compareIds(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
