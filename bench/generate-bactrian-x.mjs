#!/usr/bin/env node
// Seeded generator of full-scale synthetic Bactrian-X, for the benchmark (bench/run.mjs) and for scale checks.
//
//   node bench/generate-bactrian-x.mjs --out DIR --langs en,de,fr,it,es --rows 67017 --seed 1 [--missing 0.002]
//   node bench/generate-bactrian-x.mjs --out DIR --langs all          # Bactrian-X's 52 languages
//
// Writes DIR/<lang>.json.gz, each ONE JSON array in the upstream layout (1-space indent, as Python's
// json.dump(rows, f, ensure_ascii=False, indent=1) writes it) with the keys in the order instruction, input,
// id, output. Ids are Bactrian-X's: alpaca-0..alpaca-52001 and dolly-0..dolly-15014 for 67,017 rows (scaled
// for other --rows), shared across languages and in the same file order in every language; with --missing p,
// each id is dropped from one (seeded) language with probability p; with --duplicates p, a row is repeated
// later in the same file with probability p (its second copy has another output; readers keep the first).
// Texts are words over each language's own letters (Latin with the language's diacritics, Cyrillic, Arabic,
// Devanagari, CJK, ...), with sentences, paragraphs, lists, quotes and the odd code block, so that JSON
// escaping and UTF-8 widths are realistic. Lengths are log-normal: instruction median ~60 characters, input
// empty in ~60% of rows (else median ~100), output median ~350 with a long tail to several thousand.
// Same arguments give byte-identical files. DIR.generated.json (beside DIR, written last, so that DIR holds only
// language files) records the arguments, so a caller can reuse a directory generated with the same arguments.
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { createGzip } from "node:zlib";
import { once } from "node:events";
import { parseArgs } from "node:util";

/** Bactrian-X's 52 language codes. */
export const BACTRIAN_X_LANGUAGES = (
  "af ar az bn cs de en es et fa fi fr gl gu he hi hr id it ja ka kk km ko lt lv mk ml mn mr my ne nl pl ps pt " +
  "ro ru si sl sv sw ta te th tl tr uk ur vi xh zh"
).split(" ");

/** Upstream sizes: Alpaca has 52,002 items and Dolly 15,015, together Bactrian-X's 67,017 rows per language. */
const ALPACA_ROWS = 52_002;
const FULL_ROWS = 67_017;

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness: sfc32 seeded from a string hash (cyrb128). Fast, and independent streams per purpose.

function hashSeed(text) {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    h1 = h2 ^ Math.imul(h1 ^ code, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ code, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ code, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ code, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

/** Returns a function giving doubles in [0, 1), determined by the string seed. */
export function createRandom(seed) {
  let [a, b, c, d] = hashSeed(String(seed));
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let index = 0; index < 16; index++) next();
  return next;
}

function logNormal(random, median, sigma) {
  // Box-Muller; 1 - random() keeps the logarithm finite.
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return median * Math.exp(sigma * normal);
}

// ---------------------------------------------------------------------------------------------------------
// Alphabets. Latin languages get their own diacritics; other scripts a block of their letters.

const LATIN_EXTRA = {
  af: "êëéïôû", az: "çəğıöşü", cs: "áčďéěíňóřšťúůýž", de: "äöüß", en: "", es: "áéíñóúü", et: "äõöüšž",
  fi: "äö", fr: "àâçéèêëîïôûùœ", gl: "áéíñóú", hr: "čćđšž", id: "", it: "àèéìòù", lt: "ąčęėįšųūž",
  lv: "āčēģīķļņšūž", nl: "éëï", pl: "ąćęłńóśźż", pt: "áâãàçéêíóôõú", ro: "ăâîșț", sl: "čšž", sv: "åäö",
  sw: "", tl: "ñ", tr: "çğıöşü", vi: "ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ",
  xh: "",
};

function range(from, to) {
  let letters = "";
  for (let code = from; code <= to; code++) letters += String.fromCodePoint(code);
  return letters;
}

const SCRIPT_LETTERS = {
  cyrillic: range(0x430, 0x44f),
  arabic: range(0x627, 0x64a),
  hebrew: range(0x5d0, 0x5ea),
  devanagari: range(0x915, 0x939) + range(0x93e, 0x94c),
  bengali: range(0x995, 0x9b9) + range(0x9be, 0x9cc),
  gujarati: range(0xa95, 0xab9) + range(0xabe, 0xacc),
  tamil: range(0xb95, 0xbb9) + range(0xbbe, 0xbcc),
  telugu: range(0xc15, 0xc39) + range(0xc3e, 0xc4c),
  malayalam: range(0xd15, 0xd39) + range(0xd3e, 0xd4c),
  sinhala: range(0xd9a, 0xdc6) + range(0xdcf, 0xdde),
  thai: range(0xe01, 0xe2e) + range(0xe30, 0xe39),
  khmer: range(0x1780, 0x17a2) + range(0x17b6, 0x17c5),
  myanmar: range(0x1000, 0x1021) + range(0x102b, 0x1032),
  georgian: range(0x10d0, 0x10f0),
  hangul: range(0xac00, 0xac00 + 2000),
  cjk: range(0x4e00, 0x4e00 + 3000),
  japanese: range(0x3041, 0x3093) + range(0x30a1, 0x30f3) + range(0x4e00, 0x4e00 + 1500),
  mongolian: range(0x430, 0x44f) + "өү",
};

const LANGUAGE_SCRIPT = {
  ar: "arabic", fa: "arabic", ps: "arabic", ur: "arabic", he: "hebrew", hi: "devanagari", mr: "devanagari",
  ne: "devanagari", bn: "bengali", gu: "gujarati", ta: "tamil", te: "telugu", ml: "malayalam", si: "sinhala",
  th: "thai", km: "khmer", my: "myanmar", ka: "georgian", ko: "hangul", zh: "cjk", ja: "japanese",
  ru: "cyrillic", uk: "cyrillic", mk: "cyrillic", kk: "cyrillic", mn: "mongolian",
};

/**
 * Characters per Latin character of the same content: denser scripts say the same in fewer (and wider) UTF-8
 * characters, which keeps every language's file near the upstream 30-60 MB.
 */
const SCRIPT_LENGTH = { cjk: 0.35, japanese: 0.4, hangul: 0.45, cyrillic: 0.8, mongolian: 0.8, arabic: 0.7, hebrew: 0.7 };
const OTHER_SCRIPT_LENGTH = 0.5;

/** Scripts without spaces between words in running text. */
const NO_SPACES = new Set(["cjk", "japanese", "thai", "khmer", "myanmar"]);

function describeLanguage(lang) {
  const script = LANGUAGE_SCRIPT[lang];
  if (script) {
    const letters = [...SCRIPT_LETTERS[script]];
    const noSpaces = NO_SPACES.has(script);
    const wordLength = script === "cjk" || script === "japanese" ? [1, 3] : script === "hangul" ? [1, 4] : [2, 8];
    const lengthFactor = SCRIPT_LENGTH[script] ?? OTHER_SCRIPT_LENGTH;
    return { letters, vowels: letters, cased: script === "cyrillic" || script === "mongolian", noSpaces, wordLength, lengthFactor };
  }
  const extra = [...(LATIN_EXTRA[lang] ?? "")];
  const consonants = [..."bcdfghjklmnprstvwz"];
  const vowels = [..."aeiouy", ...extra];
  return { letters: [...consonants, ...extra.filter((letter) => !"äöüåæœ".includes(letter))], vowels, cased: true, noSpaces: false, wordLength: [1, 4], lengthFactor: 1 };
}

/** Builds a vocabulary of ~4,000 words, most frequent first. */
function buildVocabulary(lang, random) {
  const language = describeLanguage(lang);
  const words = new Set();
  const [minimum, maximum] = language.wordLength;
  while (words.size < 4000) {
    const size = minimum + Math.floor(random() * random() * (maximum - minimum + 1));
    let word = "";
    for (let index = 0; index < size; index++) {
      if (language.noSpaces || language.letters === language.vowels) {
        word += language.letters[Math.floor(random() * language.letters.length)];
      } else {
        // Latin: consonant-vowel syllables, sometimes with a closing consonant.
        word += language.letters[Math.floor(random() * language.letters.length)];
        word += language.vowels[Math.floor(random() * language.vowels.length)];
        if (random() < 0.25) word += language.letters[Math.floor(random() * language.letters.length)];
      }
    }
    words.add(word);
  }
  // Short words are frequent: sort by length so the skewed draw below favours them.
  const vocabulary = [...words].sort((left, right) => left.length - right.length);
  return { ...language, vocabulary };
}

const CODE_SNIPPETS = [
  '```python\ndef count_words(text):\n    return len(text.split())\n\nprint(count_words("a b\\tc"))\n```',
  "```js\nconst total = items.reduce((sum, item) => sum + item.price, 0);\nconsole.log(`Total: ${total}`);\n```",
  "```sql\nSELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 1;\n```",
  "`C:\\\\Users\\\\data\\\\file.csv`",
  "$x^2 + y^2 = r^2$",
  "https://example.org/wiki/Page_(topic)?q=1&lang=en",
];

function capitalise(word, language) {
  return language.cased ? word.charAt(0).toUpperCase() + word.slice(1) : word;
}

/** Draws a text of about `length` characters (it ends with the sentence in which the length is reached). */
function drawText(language, random, length, { paragraphs }) {
  const { vocabulary } = language;
  const target = length * language.lengthFactor;
  const separator = language.noSpaces ? "" : " ";
  const parts = [];
  let size = 0;
  let sentence = 0;
  while (size < target) {
    let glue = sentence === 0 ? "" : " ";
    if (paragraphs && sentence > 0) {
      const layout = random();
      if (layout < 0.15) glue = "\n\n";
      else if (layout < 0.2) glue = `\n${1 + (sentence % 9)}. `;
      else if (layout < 0.23) glue = "\n- ";
      else if (layout < 0.235) glue = `\n\n${CODE_SNIPPETS[Math.floor(random() * CODE_SNIPPETS.length)]}\n\n`;
    }
    const words = 4 + Math.floor(random() * 14);
    let text = "";
    for (let index = 0; index < words && size + glue.length + text.length < target; index++) {
      const draw = random();
      const word = vocabulary[Math.floor(draw * draw * draw * vocabulary.length)];
      text += index === 0 ? capitalise(word, language) : separator + word;
      if (index > 0 && index < words - 1 && random() < 0.06) text += ",";
    }
    const ending = random();
    text += ending < 0.85 ? "." : ending < 0.93 ? "?" : ending < 0.97 ? "!" : ":";
    if (random() < 0.03) text = `"${text}"`;
    parts.push(glue, text);
    size += glue.length + text.length;
    sentence++;
  }
  return parts.join("");
}

// ---------------------------------------------------------------------------------------------------------

/** The ids of a file of `rows` rows in upstream order (alpaca then dolly), scaled from 67,017. */
export function listIds(rows) {
  const alpaca = Math.round((rows * ALPACA_ROWS) / FULL_ROWS);
  const ids = [];
  for (let index = 0; index < alpaca; index++) ids.push(`alpaca-${index}`);
  for (let index = 0; index < rows - alpaca; index++) ids.push(`dolly-${index}`);
  return ids;
}

/** For each id index, the language it is missing from (or -1), from the seed. */
function planMissing({ rows, languages, seed, missing }) {
  const random = createRandom(`${seed}:missing`);
  const missingFrom = new Int16Array(rows).fill(-1);
  if (languages < 2) return missingFrom;
  for (let index = 0; index < rows; index++) {
    if (random() < missing) missingFrom[index] = Math.floor(random() * languages);
  }
  return missingFrom;
}

function serialiseRow(row) {
  return (
    ` {\n  "instruction": ${JSON.stringify(row.instruction)},\n  "input": ${JSON.stringify(row.input)},\n` +
    `  "id": ${JSON.stringify(row.id)},\n  "output": ${JSON.stringify(row.output)}\n }`
  );
}

/** Writes DIR/<lang>.json.gz (atomically: .incomplete, then rename). */
async function generateLanguage({ out, lang, langIndex, rows, seed, missing, duplicates, level }) {
  const random = createRandom(`${seed}:${lang}:text`);
  const language = buildVocabulary(lang, createRandom(`${seed}:${lang}:vocabulary`));
  const missingFrom = planMissing({ rows, languages: langIndex.count, seed, missing });
  const duplicateRandom = createRandom(`${seed}:${lang}:duplicates`);
  const ids = listIds(rows);
  const path = join(out, `${lang}.json.gz`);
  const gzip = createGzip({ level, memLevel: 9, chunkSize: 1 << 16 });
  const file = createWriteStream(`${path}.incomplete`);
  gzip.pipe(file);
  const drawRow = (id) => {
    const instruction = drawText(language, random, Math.max(8, logNormal(random, 58, 0.45)), { paragraphs: false });
    const input = random() < 0.4 ? drawText(language, random, Math.max(5, logNormal(random, 100, 0.9)), { paragraphs: true }) : "";
    const output = drawText(language, random, Math.min(12_000, Math.max(1, logNormal(random, 350, 1.0))), { paragraphs: true });
    return { instruction, input, id, output };
  };
  const delayed = [];
  let chunk = "[\n";
  let first = true;
  let written = 0;
  const emit = async (row) => {
    chunk += (first ? "" : ",\n") + serialiseRow(row);
    first = false;
    written++;
    if (chunk.length > 1 << 20) {
      if (!gzip.write(chunk)) await once(gzip, "drain");
      chunk = "";
    }
  };
  for (let index = 0; index < ids.length; index++) {
    if (missingFrom[index] === langIndex.index) continue;
    const row = drawRow(ids[index]);
    await emit(row);
    if (duplicateRandom() < duplicates) delayed.push(ids[index]);
    // A duplicate reappears a little later, with a different text; readers must keep the first.
    if (delayed.length > 0 && duplicateRandom() < 0.01) await emit(drawRow(delayed.shift()));
  }
  for (const id of delayed) await emit(drawRow(id));
  chunk += "\n]";
  gzip.end(chunk);
  await once(file, "close");
  await rename(`${path}.incomplete`, path);
  return { lang, rows: written };
}

const optionsSpec = {
  out: { type: "string" },
  langs: { type: "string", default: "en,de,fr,it,es" },
  rows: { type: "string", default: String(FULL_ROWS) },
  seed: { type: "string", default: "1" },
  missing: { type: "string", default: "0.002" },
  duplicates: { type: "string", default: "0" },
  level: { type: "string", default: "6" },
  jobs: { type: "string", default: "2" },
  quiet: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
};

/** Parses and checks the generator's arguments. */
export function resolveGeneratorOptions(values) {
  const langs = values.langs === "all" ? BACTRIAN_X_LANGUAGES : values.langs.split(",").map((lang) => lang.trim());
  for (const lang of langs) {
    if (!/^[a-z]{2}$/.test(lang)) throw new Error(`--langs: "${lang}" is not a two-letter code (or use --langs all)`);
  }
  const number = (name, minimum, maximum) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < minimum || value > maximum) {
      throw new Error(`--${name} must be a number from ${minimum} to ${maximum}, got "${values[name]}"`);
    }
    return value;
  };
  return {
    langs,
    rows: Math.floor(number("rows", 1, 10_000_000)),
    seed: String(values.seed),
    missing: number("missing", 0, 1),
    duplicates: number("duplicates", 0, 1),
    level: Math.floor(number("level", 1, 9)),
    jobs: Math.floor(number("jobs", 1, 64)),
  };
}

/** The record of what a directory holds, written last as DIR.generated.json. */
function describeGeneration(options) {
  const { langs, rows, seed, missing, duplicates, level } = options;
  return { generator: "bench/generate-bactrian-x.mjs", version: 2, langs, rows, seed, missing, duplicates, level };
}

function markerPath(out) {
  return `${resolve(out)}.generated.json`;
}

/** True when DIR was generated with exactly these options (so a benchmark may reuse it). */
export async function isGenerated(out, options) {
  try {
    const recorded = JSON.parse(await readFile(markerPath(out), "utf8"));
    return JSON.stringify(recorded) === JSON.stringify(describeGeneration(options));
  } catch {
    return false;
  }
}

/**
 * Generates every language of `options.langs` into `out`, `options.jobs` languages at a time in worker threads.
 * @param {string} out
 * @param {ReturnType<typeof resolveGeneratorOptions>} options
 * @param {(line: string) => void} [log]
 */
export async function generateBactrianX(out, options, log = () => {}) {
  await mkdir(out, { recursive: true });
  await rm(markerPath(out), { force: true });
  const queue = options.langs.map((lang, index) => ({ lang, index }));
  const started = Date.now();
  const runWorker = async () => {
    while (queue.length > 0) {
      const { lang, index } = queue.shift();
      const worker = new Worker(fileURLToPath(import.meta.url), {
        workerData: { ...options, out, lang, langIndex: { index, count: options.langs.length } },
      });
      const [result] = await once(worker, "message");
      log(`generated ${lang}.json.gz (${result.rows} rows, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, runWorker));
  await writeFile(markerPath(out), `${JSON.stringify(describeGeneration(options), null, 2)}\n`);
}

if (!isMainThread) {
  generateLanguage(workerData).then((result) => parentPort.postMessage(result));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: optionsSpec, strict: true });
  if (values.help || !values.out) {
    console.log(
      "usage: node bench/generate-bactrian-x.mjs --out DIR [--langs en,de,fr,it,es|all] [--rows 67017] [--seed 1]\n" +
        "       [--missing 0.002] [--duplicates 0] [--level 6] [--jobs 2] [--quiet]",
    );
    process.exitCode = values.help ? 0 : 2;
  } else {
    const options = resolveGeneratorOptions(values);
    await generateBactrianX(values.out, options, values.quiet ? undefined : (line) => console.log(line));
  }
}
