/**
 * Number of Unicode code points in a string (what translation services bill, and what manifests report).
 * A surrogate pair counts once; a lone surrogate (possible in JSON.parse output) counts as one code point,
 * as `[...text].length` does.
 */
export function countCodePoints(text: string): number {
  let count = text.length;
  // A loop over char codes rather than `for...of`: this runs once per message of every record encoded.
  for (let index = 0; index < text.length - 1; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count -= 1;
        index += 1;
      }
    }
  }
  return count;
}
