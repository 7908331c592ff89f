/** Number of Unicode code points in a string (what translation services bill, and what manifests report). */
export function countCodePoints(text: string): number {
  let count = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    // A low surrogate is the second half of a code point already counted.
    if (code >= 0xdc00 && code <= 0xdfff) count -= 1;
  }
  return count;
}
