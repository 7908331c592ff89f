import { parseNeutralText, placeholderToken } from "../segment";

/** Escapes prose for XML/HTML transport. */
export function escapeMarkup(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** Reverses {@link escapeMarkup} and decodes the entities services add (`&#39;`, `&quot;`, `&#x27;`). */
export function unescapeMarkup(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (entity, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X")) return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    return NAMED_ENTITIES[body] ?? entity;
  });
}

/**
 * Encodes neutral text as markup: escaped prose, placeholders as empty elements made by
 * `element(index)`. Protected content is never sent, so services neither see nor bill it.
 */
export function encodeMarkup(text: string, element: (index: number) => string): string {
  return parseNeutralText(text)
    .map((piece) => (typeof piece === "string" ? escapeMarkup(piece) : element(piece.placeholder)))
    .join("");
}

/**
 * Decodes markup back to neutral text: elements matched by `elementPattern` (capturing the
 * placeholder index) become placeholders, the rest is unescaped. Unknown tags are left as text,
 * so the placeholder check catches a service that mangled them.
 */
export function decodeMarkup(markup: string, elementPattern: RegExp): string {
  let result = "";
  let last = 0;
  const global = new RegExp(elementPattern.source, elementPattern.flags.includes("g") ? elementPattern.flags : `${elementPattern.flags}g`);
  for (const match of markup.matchAll(global)) {
    const start = match.index ?? 0;
    result += unescapeMarkup(markup.slice(last, start)) + placeholderToken(Number(match[1]));
    last = start + match[0].length;
  }
  return result + unescapeMarkup(markup.slice(last));
}
