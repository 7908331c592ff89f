/** Bytes of JSON syntax, for the readers that work on UTF-8 bytes instead of strings. */
export const JsonByte = {
  quote: 34,
  backslash: 92,
  comma: 44,
  colon: 58,
  openBracket: 91,
  closeBracket: 93,
  openBrace: 123,
  closeBrace: 125,
  newline: 10,
} as const;

/** Space, tab, line feed, carriage return: the whitespace JSON allows between tokens. */
export function isJsonWhitespace(byte: number): boolean {
  return byte === 32 || byte === 10 || byte === 13 || byte === 9;
}
