import type { ProviderLimits } from "./translation-provider";

/**
 * Packs texts into requests in order, each within the provider's segment and byte limits.
 * A single text over the byte limit still gets a request of its own (the service decides).
 */
export function batchSegments(
  texts: readonly string[],
  limits: ProviderLimits,
  measureText: (text: string) => number,
): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const text of texts) {
    const size = measureText(text);
    if (current.length > 0 && (current.length >= limits.maxSegmentsPerRequest || bytes + size > limits.maxRequestBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(text);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
