#!/usr/bin/env node
// Writes fixtures/bactrian-x/<lang>.json.gz: a small Bactrian-X-format sample (one gzipped JSON
// array per language, ids shared across languages) with a few ids missing in Italian, as in the
// real data. Deterministic: rerunning gives the same bytes.
import { writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";

const topics = {
  en: ["the ocean", "friendship", "a rainy day", "coffee", "the moon", "a small village", "music", "winter", "a lost key", "the city at night", "bicycles", "an old library", "the mountains", "a birthday", "robots"],
  de: ["den Ozean", "Freundschaft", "einen Regentag", "Kaffee", "den Mond", "ein kleines Dorf", "Musik", "den Winter", "einen verlorenen Schlüssel", "die Stadt bei Nacht", "Fahrräder", "eine alte Bibliothek", "die Berge", "einen Geburtstag", "Roboter"],
  fr: ["l'océan", "l'amitié", "un jour de pluie", "le café", "la lune", "un petit village", "la musique", "l'hiver", "une clé perdue", "la ville la nuit", "les vélos", "une vieille bibliothèque", "les montagnes", "un anniversaire", "les robots"],
  it: ["l'oceano", "l'amicizia", "una giornata di pioggia", "il caffè", "la luna", "un piccolo villaggio", "la musica", "l'inverno", "una chiave perduta", "la città di notte", "le biciclette", "una vecchia biblioteca", "le montagne", "un compleanno", "i robot"],
  es: ["el océano", "la amistad", "un día de lluvia", "el café", "la luna", "un pequeño pueblo", "la música", "el invierno", "una llave perdida", "la ciudad de noche", "las bicicletas", "una vieja biblioteca", "las montañas", "un cumpleaños", "los robots"],
};
const templates = {
  en: [
    ["Write a short poem about {t}.", "", "Here is a short poem about {t}:\n\nSoft and quiet, {t} stays,\nin my mind for many days."],
    ["Give three facts about {t}.", "", "1. {T} has inspired many writers.\n2. People everywhere have stories about {t}.\n3. There is always something new to learn about {t}."],
    ["Summarize the following text.", "Many people enjoy {t}. It brings joy and calm to daily life.", "The text says that {t} makes daily life more joyful and calm."],
    ["Translate the sentence into simple words.", "The contemplation of {t} engenders tranquillity.", "Thinking about {t} makes you feel calm."],
    ["Suggest a title for a story about {t}.", "", "\"The Secret of {T}\""],
  ],
  de: [
    ["Schreibe ein kurzes Gedicht über {t}.", "", "Hier ist ein kurzes Gedicht über {t}:\n\nLeise und sanft bleibt {t}\nlange in meinem Kopf."],
    ["Nenne drei Fakten über {t}.", "", "1. {T} hat viele Schriftsteller inspiriert.\n2. Überall erzählen Menschen Geschichten über {t}.\n3. Über {t} gibt es immer etwas Neues zu lernen."],
    ["Fasse den folgenden Text zusammen.", "Viele Menschen mögen {t}. Es bringt Freude und Ruhe in den Alltag.", "Der Text sagt, dass {t} den Alltag fröhlicher und ruhiger macht."],
    ["Übersetze den Satz in einfache Worte.", "Die Betrachtung von {t} erzeugt Gelassenheit.", "Wenn man an {t} denkt, wird man ruhig."],
    ["Schlage einen Titel für eine Geschichte über {t} vor.", "", "„Das Geheimnis von {t}“"],
  ],
  fr: [
    ["Écris un court poème sur {t}.", "", "Voici un court poème sur {t} :\n\nDoux et calme, {t} reste\nlongtemps dans mes pensées."],
    ["Donne trois faits sur {t}.", "", "1. {T} a inspiré de nombreux écrivains.\n2. Partout, les gens racontent des histoires sur {t}.\n3. Il y a toujours quelque chose de nouveau à apprendre sur {t}."],
    ["Résume le texte suivant.", "Beaucoup de gens aiment {t}. Cela apporte de la joie et du calme au quotidien.", "Le texte dit que {t} rend la vie quotidienne plus joyeuse et plus calme."],
    ["Traduis la phrase en mots simples.", "La contemplation de {t} engendre la sérénité.", "Penser à {t} rend calme."],
    ["Propose un titre pour une histoire sur {t}.", "", "« Le secret de {t} »"],
  ],
  it: [
    ["Scrivi una breve poesia su {t}.", "", "Ecco una breve poesia su {t}:\n\nDolce e quieto, {t} resta\na lungo nei miei pensieri."],
    ["Elenca tre fatti su {t}.", "", "1. {T} ha ispirato molti scrittori.\n2. Ovunque le persone raccontano storie su {t}.\n3. C'è sempre qualcosa di nuovo da imparare su {t}."],
    ["Riassumi il testo seguente.", "Molte persone amano {t}. Porta gioia e calma nella vita quotidiana.", "Il testo dice che {t} rende la vita quotidiana più gioiosa e calma."],
    ["Traduci la frase in parole semplici.", "La contemplazione di {t} genera serenità.", "Pensare a {t} dà calma."],
    ["Suggerisci un titolo per una storia su {t}.", "", "«Il segreto di {t}»"],
  ],
  es: [
    ["Escribe un poema corto sobre {t}.", "", "Aquí tienes un poema corto sobre {t}:\n\nSuave y tranquilo, {t} se queda\nmucho tiempo en mi mente."],
    ["Da tres datos sobre {t}.", "", "1. {T} ha inspirado a muchos escritores.\n2. En todas partes la gente cuenta historias sobre {t}.\n3. Siempre hay algo nuevo que aprender sobre {t}."],
    ["Resume el siguiente texto.", "A mucha gente le gusta {t}. Aporta alegría y calma a la vida diaria.", "El texto dice que {t} hace la vida diaria más alegre y tranquila."],
    ["Traduce la frase a palabras sencillas.", "La contemplación de {t} engendra serenidad.", "Pensar en {t} da calma."],
    ["Sugiere un título para una historia sobre {t}.", "", "«El secreto de {t}»"],
  ],
};
const languages = ["en", "de", "fr", "it", "es"];
// 75 items (15 topics x 5 templates) repeated with four numbered variants: 300 ids.
const items = [];
let alpaca = 100;
let dolly = 5000;
for (let variant = 0; variant < 4; variant += 1) {
  for (let template = 0; template < 5; template += 1) {
    for (let topic = 0; topic < 15; topic += 1) {
      const isDolly = (template + topic + variant) % 4 === 0;
      items.push({ id: isDolly ? `dolly-${dolly++}` : `alpaca-${alpaca++}`, template, topic, variant });
    }
  }
}
const missingInItalian = new Set([items[7].id, items[42].id, items[199].id]);
const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);
mkdirSync("fixtures/bactrian-x", { recursive: true });
for (const lang of languages) {
  const rows = [];
  for (const { id, template, topic, variant } of items) {
    if (lang === "it" && missingInItalian.has(id)) continue;
    const t = topics[lang][topic];
    const fill = (text) => text.replaceAll("{t}", t).replaceAll("{T}", capitalise(t));
    const [instruction, input, output] = templates[lang][template].map(fill);
    rows.push({ instruction: variant ? `${instruction} (${variant + 1})` : instruction, input, id, output });
  }
  const json = "[" + rows.map((row) => JSON.stringify(row)).join(", ") + "]";
  writeFileSync(`fixtures/bactrian-x/${lang}.json.gz`, gzipSync(json, { level: 9, mtime: 0 }));
  console.log(`${lang}: ${rows.length} rows`);
}
