/** Anything with a `get(name)`, or a plain header record (`@google-cloud` and axios errors carry one). */
export type HeadersLike = { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

/** Reads one header from a `Headers` object or a plain record (case-insensitive for records). */
export function readHeader(headers: HeadersLike | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null | undefined }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Milliseconds a service asked to wait: `retry-after-ms` (OpenAI), else `Retry-After` in
 * seconds or as an HTTP date. Undefined when it did not say.
 */
export function parseRetryAfter(headers: HeadersLike | string | undefined | null, now: number = Date.now()): number | undefined {
  if (headers === undefined || headers === null) return undefined;
  if (typeof headers !== "string") {
    const milliseconds = readHeader(headers, "retry-after-ms");
    if (milliseconds !== undefined && milliseconds.trim() !== "" && Number.isFinite(Number(milliseconds))) return Math.max(0, Number(milliseconds));
    return parseRetryAfter(readHeader(headers, "retry-after"), now);
  }
  const value = headers.trim();
  if (value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
