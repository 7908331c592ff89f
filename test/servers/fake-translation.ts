import fixtureTranslations from "./fixture-translations.json";

/**
 * A deterministic stand-in for machine translation, used by the fake servers. The segments of the
 * bundled LIMA fixture (`fixtures/lima/train.jsonl`, exactly as the engine sends them to DeepL) have
 * reference translations written for the fixture in `fixture-translations.json`; those are returned
 * as they are. Any other text gets the dictionary treatment: common English words are replaced from a
 * small dictionary (German, French, Italian, Spanish), capitalisation kept; other words stay. Markup
 * (tags) is left untouched. Good enough to look translated, detectable in tests, and identical on
 * every run.
 */

/** Reference translations of the LIMA fixture's segments: segment markup -> language -> translation. */
const FIXTURE_TRANSLATIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = fixtureTranslations;

/** The fixture's reference translation of a whole segment (exact match), or undefined. */
export function fixtureTranslation(markup: string, targetLang: string): string | undefined {
  if (!Object.hasOwn(FIXTURE_TRANSLATIONS, markup)) return undefined;
  return FIXTURE_TRANSLATIONS[markup]?.[targetLang.toLowerCase().slice(0, 2)];
}

/** The word dictionary used for text outside the fixture: English word -> translation, per language. */
const DICTIONARY: Record<string, Record<string, string>> = {
  de: {
    the: "die", a: "ein", an: "ein", and: "und", or: "oder", is: "ist", are: "sind", was: "war", be: "sein",
    to: "zu", of: "von", in: "in", on: "auf", for: "für", with: "mit", without: "ohne", this: "dies", that: "das",
    it: "es", you: "du", your: "dein", we: "wir", i: "ich", can: "kann", use: "verwende", using: "mit", not: "nicht",
    if: "wenn", when: "wenn", how: "wie", what: "was", why: "warum", which: "welche", there: "dort", here: "hier",
    from: "aus", by: "durch", as: "als", at: "bei", but: "aber", all: "alle", some: "einige", more: "mehr", most: "meiste",
    one: "eins", two: "zwei", three: "drei", first: "erste", second: "zweite", example: "Beispiel", function: "Funktion",
    file: "Datei", files: "Dateien", code: "Code", value: "Wert", values: "Werte", list: "Liste", table: "Tabelle",
    question: "Frage", answer: "Antwort", good: "gut", best: "beste", time: "Zeit", day: "Tag", year: "Jahr",
    people: "Leute", world: "Welt", water: "Wasser", book: "Buch", write: "schreibe", read: "lies", make: "mache",
    do: "tue", does: "tut", have: "habe", has: "hat", will: "wird", would: "würde", should: "sollte", could: "könnte",
    also: "auch", only: "nur", very: "sehr", many: "viele", other: "andere", new: "neu", same: "gleiche", each: "jede",
    number: "Zahl", name: "Name", data: "Daten", text: "Text", language: "Sprache", world_: "Welt", result: "Ergebnis",
    step: "Schritt", steps: "Schritte", following: "folgende", need: "brauche", want: "will", because: "weil", so: "also",
    then: "dann", than: "als", these: "diese", those: "jene", they: "sie", he: "er", she: "sie", my: "mein", our: "unser",
    like: "wie", just: "nur", about: "über", into: "in", after: "nach", before: "vor", over: "über", under: "unter",
    yes: "ja", no: "nein", help: "Hilfe", work: "Arbeit", way: "Weg", thing: "Ding", things: "Dinge", see: "siehe",
    get: "bekomme", run: "führe", returns: "gibt zurück", string: "Zeichenkette", word: "Wort", words: "Wörter",
    hello: "hallo", please: "bitte", thanks: "danke", note: "Hinweis", important: "wichtig", simple: "einfach",
  },
  fr: {
    the: "le", a: "un", an: "un", and: "et", or: "ou", is: "est", are: "sont", was: "était", be: "être", to: "à",
    of: "de", in: "dans", on: "sur", for: "pour", with: "avec", without: "sans", this: "ce", that: "que", it: "il",
    you: "vous", your: "votre", we: "nous", i: "je", can: "peut", use: "utilisez", not: "pas", if: "si", when: "quand",
    how: "comment", what: "quoi", why: "pourquoi", which: "lequel", here: "ici", from: "de", by: "par", as: "comme",
    but: "mais", all: "tous", some: "quelques", more: "plus", one: "un", two: "deux", three: "trois", first: "premier",
    example: "exemple", function: "fonction", file: "fichier", files: "fichiers", code: "code", value: "valeur",
    values: "valeurs", list: "liste", table: "tableau", question: "question", answer: "réponse", good: "bon",
    best: "meilleur", time: "temps", day: "jour", year: "année", people: "gens", world: "monde", water: "eau",
    book: "livre", write: "écrivez", read: "lisez", make: "faites", have: "avez", has: "a", will: "va", should: "devrait",
    also: "aussi", only: "seulement", very: "très", many: "beaucoup", other: "autre", new: "nouveau", each: "chaque",
    number: "nombre", name: "nom", data: "données", text: "texte", language: "langue", result: "résultat",
    step: "étape", steps: "étapes", following: "suivant", need: "besoin", because: "parce que", then: "puis",
    these: "ces", they: "ils", he: "il", she: "elle", my: "mon", our: "notre", like: "comme", about: "sur",
    after: "après", before: "avant", yes: "oui", no: "non", help: "aide", work: "travail", way: "façon",
    see: "voir", get: "obtenez", run: "exécutez", string: "chaîne", word: "mot", words: "mots", hello: "bonjour",
    please: "s'il vous plaît", note: "remarque", important: "important", simple: "simple",
  },
  it: {
    the: "il", a: "un", an: "un", and: "e", or: "o", is: "è", are: "sono", was: "era", be: "essere", to: "a",
    of: "di", in: "in", on: "su", for: "per", with: "con", without: "senza", this: "questo", that: "che", it: "esso",
    you: "tu", your: "tuo", we: "noi", i: "io", can: "può", use: "usa", not: "non", if: "se", when: "quando",
    how: "come", what: "cosa", why: "perché", which: "quale", here: "qui", from: "da", by: "da", as: "come",
    but: "ma", all: "tutti", some: "alcuni", more: "più", one: "uno", two: "due", three: "tre", first: "primo",
    example: "esempio", function: "funzione", file: "file", files: "file", code: "codice", value: "valore",
    values: "valori", list: "elenco", table: "tabella", question: "domanda", answer: "risposta", good: "buono",
    best: "migliore", time: "tempo", day: "giorno", year: "anno", people: "persone", world: "mondo", water: "acqua",
    book: "libro", write: "scrivi", read: "leggi", make: "fai", have: "hai", has: "ha", will: "sarà", should: "dovrebbe",
    also: "anche", only: "solo", very: "molto", many: "molti", other: "altro", new: "nuovo", each: "ogni",
    number: "numero", name: "nome", data: "dati", text: "testo", language: "lingua", result: "risultato",
    step: "passo", steps: "passi", following: "seguente", need: "bisogno", because: "perché", then: "poi",
    these: "questi", they: "loro", he: "lui", she: "lei", my: "mio", our: "nostro", like: "come", about: "su",
    after: "dopo", before: "prima", yes: "sì", no: "no", help: "aiuto", work: "lavoro", way: "modo",
    see: "vedi", get: "ottieni", run: "esegui", string: "stringa", word: "parola", words: "parole", hello: "ciao",
    please: "per favore", note: "nota", important: "importante", simple: "semplice",
  },
  es: {
    the: "el", a: "un", an: "un", and: "y", or: "o", is: "es", are: "son", was: "era", be: "ser", to: "a",
    of: "de", in: "en", on: "en", for: "para", with: "con", without: "sin", this: "esto", that: "que", it: "eso",
    you: "tú", your: "tu", we: "nosotros", i: "yo", can: "puede", use: "usa", not: "no", if: "si", when: "cuando",
    how: "cómo", what: "qué", why: "por qué", which: "cuál", here: "aquí", from: "desde", by: "por", as: "como",
    but: "pero", all: "todos", some: "algunos", more: "más", one: "uno", two: "dos", three: "tres", first: "primero",
    example: "ejemplo", function: "función", file: "archivo", files: "archivos", code: "código", value: "valor",
    values: "valores", list: "lista", table: "tabla", question: "pregunta", answer: "respuesta", good: "bueno",
    best: "mejor", time: "tiempo", day: "día", year: "año", people: "gente", world: "mundo", water: "agua",
    book: "libro", write: "escribe", read: "lee", make: "haz", have: "tienes", has: "tiene", will: "será",
    should: "debería", also: "también", only: "solo", very: "muy", many: "muchos", other: "otro", new: "nuevo",
    each: "cada", number: "número", name: "nombre", data: "datos", text: "texto", language: "idioma",
    result: "resultado", step: "paso", steps: "pasos", following: "siguiente", need: "necesitas", because: "porque",
    then: "entonces", these: "estos", they: "ellos", he: "él", she: "ella", my: "mi", our: "nuestro", like: "como",
    about: "sobre", after: "después", before: "antes", yes: "sí", no: "no", help: "ayuda", work: "trabajo",
    way: "manera", see: "ver", get: "obtén", run: "ejecuta", string: "cadena", word: "palabra", words: "palabras",
    hello: "hola", please: "por favor", note: "nota", important: "importante", simple: "simple",
  },
};

/** More words, one row per English word: [en, de, fr, it, es]. Rows only fill gaps in the tables above. */
const MORE_WORDS: readonly (readonly [string, string, string, string, string])[] = [
  ["were", "waren", "étaient", "erano", "eran"],
  ["him", "ihn", "lui", "lui", "él"],
  ["look", "schau", "regardez", "guarda", "mira"],
  ["go", "geh", "allez", "vai", "ve"],
  ["been", "gewesen", "été", "stato", "sido"],
  ["call", "rufe", "appelez", "chiama", "llama"],
  ["who", "wer", "qui", "chi", "quién"],
  ["oil", "Öl", "huile", "olio", "aceite"],
  ["its", "sein", "son", "suo", "su"],
  ["now", "jetzt", "maintenant", "ora", "ahora"],
  ["find", "finde", "trouvez", "trova", "encuentra"],
  ["long", "lang", "long", "lungo", "largo"],
  ["down", "hinunter", "bas", "giù", "abajo"],
  ["did", "tat", "fit", "fece", "hizo"],
  ["come", "komm", "venez", "vieni", "ven"],
  ["made", "gemacht", "fait", "fatto", "hecho"],
  ["may", "darf", "peut", "può", "puede"],
  ["part", "Teil", "partie", "parte", "parte"],
  ["numbers", "Zahlen", "nombres", "numeri", "números"],
  ["minutes", "Minuten", "minutes", "minuti", "minutos"],
  ["week", "Woche", "semaine", "settimana", "semana"],
  ["person", "Person", "personne", "persona", "persona"],
  ["running", "Laufen", "course", "corsa", "correr"],
  ["days", "Tage", "jours", "giorni", "días"],
  ["start", "beginne", "commencez", "inizia", "empieza"],
  ["five", "fünf", "cinq", "cinque", "cinco"],
  ["small", "klein", "petit", "piccolo", "pequeño"],
  ["history", "Geschichte", "histoire", "storia", "historia"],
  ["sum", "Summe", "somme", "somma", "suma"],
  ["used", "benutzt", "utilisé", "usato", "usado"],
  ["few", "wenige", "peu", "pochi", "pocos"],
  ["even", "sogar", "même", "persino", "incluso"],
  ["short", "kurz", "court", "breve", "corto"],
  ["add", "füge hinzu", "ajoutez", "aggiungi", "añade"],
  ["total", "gesamt", "total", "totale", "total"],
  ["four", "vier", "quatre", "quattro", "cuatro"],
  ["every", "jeder", "chaque", "ogni", "cada"],
  ["until", "bis", "jusqu'à", "fino", "hasta"],
  ["path", "Pfad", "chemin", "percorso", "ruta"],
  ["tower", "Turm", "tour", "torre", "torre"],
  ["years", "Jahre", "ans", "anni", "años"],
  ["mean", "Mittelwert", "moyenne", "media", "media"],
  ["count", "zähle", "comptez", "conta", "cuenta"],
  ["back", "zurück", "retour", "indietro", "atrás"],
  ["usually", "meistens", "généralement", "di solito", "normalmente"],
  ["between", "zwischen", "entre", "tra", "entre"],
  ["both", "beide", "les deux", "entrambi", "ambos"],
  ["creates", "erstellt", "crée", "crea", "crea"],
  ["main", "Haupt", "principal", "principale", "principal"],
  ["explain", "erkläre", "expliquez", "spiega", "explica"],
  ["right", "rechts", "droit", "destra", "derecho"],
  ["square", "Quadrat", "carré", "quadrato", "cuadrado"],
  ["out", "aus", "dehors", "fuori", "fuera"],
  ["glass", "Glas", "verre", "bicchiere", "vaso"],
  ["avoid", "vermeide", "évitez", "evita", "evita"],
  ["body", "Körper", "corps", "corpo", "cuerpo"],
  ["walk", "Spaziergang", "marche", "camminata", "paseo"],
  ["habit", "Gewohnheit", "habitude", "abitudine", "hábito"],
  ["place", "Ort", "endroit", "luogo", "lugar"],
  ["distance", "Entfernung", "distance", "distanza", "distancia"],
  ["loop", "Schleife", "boucle", "ciclo", "bucle"],
  ["prints", "druckt", "affiche", "stampa", "imprime"],
  ["tomatoes", "Tomaten", "tomates", "pomodori", "tomates"],
  ["onion", "Zwiebel", "oignon", "cipolla", "cebolla"],
  ["garlic", "Knoblauch", "ail", "aglio", "ajo"],
  ["stock", "Brühe", "bouillon", "brodo", "caldo"],
  ["leaves", "Blätter", "feuilles", "foglie", "hojas"],
  ["ten", "zehn", "dix", "dieci", "diez"],
  ["twenty", "zwanzig", "vingt", "venti", "veinte"],
  ["makes", "macht", "fait", "fa", "hace"],
  ["asking", "fragen", "demander", "chiedere", "preguntar"],
  ["any", "irgendein", "aucun", "qualsiasi", "cualquier"],
  ["called", "genannt", "appelé", "chiamato", "llamado"],
  ["parent", "Eltern", "parent", "genitore", "padre"],
  ["display", "Anzeige", "affichage", "visualizzazione", "visualización"],
  ["items", "Elemente", "éléments", "elementi", "elementos"],
  ["benefits", "Vorteile", "avantages", "vantaggi", "beneficios"],
  ["learning", "Lernen", "apprentissage", "apprendimento", "aprendizaje"],
  ["old", "alt", "vieux", "vecchio", "viejo"],
  ["sample", "Stichprobe", "échantillon", "campione", "muestra"],
  ["begin", "beginne", "commencez", "inizia", "empieza"],
  ["walking", "Gehen", "marche", "camminare", "caminar"],
  ["times", "Mal", "fois", "volte", "veces"],
  ["rest", "Ruhe", "repos", "riposo", "descanso"],
  ["increase", "erhöhe", "augmentez", "aumenta", "aumenta"],
  ["per", "pro", "par", "per", "por"],
  ["pain", "Schmerz", "douleur", "dolore", "dolor"],
  ["runners", "Läufer", "coureurs", "corridori", "corredores"],
  ["trip", "Reise", "voyage", "viaggio", "viaje"],
  ["cities", "Städte", "villes", "città", "ciudades"],
  ["green", "grün", "vert", "verde", "verde"],
  ["know", "weiß", "savez", "sai", "sabes"],
  ["position", "Position", "position", "posizione", "posición"],
  ["ask", "frage", "demandez", "chiedi", "pregunta"],
  ["front", "vorne", "avant", "davanti", "frente"],
  ["problem", "Problem", "problème", "problema", "problema"],
  ["reverse", "umkehren", "inverser", "invertire", "invertir"],
  ["original", "Original", "original", "originale", "original"],
  ["common", "üblich", "courant", "comune", "común"],
  ["ways", "Wege", "façons", "modi", "maneras"],
  ["convert", "wandle um", "convertissez", "converti", "convierte"],
  ["leave", "lass", "laissez", "lascia", "deja"],
  ["unchanged", "unverändert", "inchangé", "invariato", "sin cambios"],
  ["fastest", "schnellste", "plus rapide", "più veloce", "más rápido"],
  ["lists", "Listen", "listes", "liste", "listas"],
  ["clearer", "klarer", "plus clair", "più chiaro", "más claro"],
  ["difference", "Unterschied", "différence", "differenza", "diferencia"],
  ["changes", "Änderungen", "modifications", "modifiche", "cambios"],
  ["another", "ein anderer", "un autre", "un altro", "otro"],
  ["differently", "anders", "différemment", "diversamente", "de otra manera"],
  ["together", "zusammen", "ensemble", "insieme", "juntos"],
  ["existing", "bestehende", "existant", "esistente", "existente"],
  ["exactly", "genau", "exactement", "esattamente", "exactamente"],
  ["happened", "geschah", "arrivé", "accaduto", "ocurrió"],
  ["moves", "verschiebt", "déplace", "sposta", "mueve"],
  ["becomes", "wird", "devient", "diventa", "se vuelve"],
  ["typical", "typisch", "typique", "tipico", "típico"],
  ["never", "niemals", "jamais", "mai", "nunca"],
  ["already", "bereits", "déjà", "già", "ya"],
  ["shared", "gemeinsam", "partagé", "condiviso", "compartido"],
  ["based", "basiert", "basé", "basato", "basado"],
  ["details", "Einzelheiten", "détails", "dettagli", "detalles"],
  ["triangle", "Dreieck", "triangle", "triangolo", "triángulo"],
  ["equals", "gleich", "égale", "uguale", "igual"],
  ["sides", "Seiten", "côtés", "lati", "lados"],
  ["morning", "Morgen", "matin", "mattina", "mañana"],
  ["routine", "Routine", "routine", "routine", "rutina"],
  ["habits", "Gewohnheiten", "habitudes", "abitudini", "hábitos"],
  ["prepare", "bereite vor", "préparez", "prepara", "prepara"],
  ["night", "Nacht", "nuit", "notte", "noche"],
  ["clothes", "Kleidung", "vêtements", "vestiti", "ropa"],
  ["bag", "Tasche", "sac", "borsa", "bolsa"],
  ["drink", "trinke", "buvez", "bevi", "bebe"],
  ["soon", "bald", "bientôt", "presto", "pronto"],
  ["wake", "wache auf", "réveillez", "svegliati", "despierta"],
  ["phone", "Telefon", "téléphone", "telefono", "teléfono"],
  ["thirty", "dreißig", "trente", "trenta", "treinta"],
  ["tasks", "Aufgaben", "tâches", "compiti", "tareas"],
  ["next", "nächste", "suivant", "prossimo", "siguiente"],
  ["natural", "natürlich", "naturel", "naturale", "natural"],
  ["highest", "höchste", "plus élevé", "più alto", "más alto"],
  ["order", "Bestellung", "commande", "ordine", "pedido"],
  ["window", "Fenster", "fenêtre", "finestra", "ventana"],
  ["always", "immer", "toujours", "sempre", "siempre"],
  ["while", "während", "pendant", "mentre", "mientras"],
  ["where", "wo", "où", "dove", "donde"],
  ["make", "mache", "faites", "fai", "haz"],
  ["small", "klein", "petit", "piccolo", "pequeño"],
  ["large", "groß", "grand", "grande", "grande"],
  ["easy", "leicht", "facile", "facile", "fácil"],
  ["same", "gleiche", "même", "stesso", "mismo"],
  ["through", "durch", "à travers", "attraverso", "a través"],
  ["than", "als", "que", "di", "que"],
  ["could", "könnte", "pourrait", "potrebbe", "podría"],
  ["would", "würde", "serait", "sarebbe", "sería"],
  ["there", "dort", "là", "lì", "allí"],
  ["so", "also", "donc", "quindi", "así"],
  ["into", "in", "dans", "in", "en"],
  ["their", "ihr", "leur", "loro", "su"],
  ["them", "sie", "les", "li", "los"],
  ["out", "aus", "dehors", "fuori", "fuera"],
  ["up", "hoch", "haut", "su", "arriba"],
];
for (const [english, ...translations] of MORE_WORDS) {
  (["de", "fr", "it", "es"] as const).forEach((lang, index) => {
    const table = DICTIONARY[lang]!;
    table[english] ??= translations[index]!;
  });
}

/** Replaces dictionary words in plain text (no markup). */
export function fakeTranslateText(text: string, targetLang: string): string {
  const dictionary = DICTIONARY[targetLang.toLowerCase().slice(0, 2)];
  if (!dictionary) return `[${targetLang}] ${text}`;
  return text.replace(/\p{L}+/gu, (word) => {
    const translated = dictionary[word.toLowerCase()];
    if (translated === undefined) return word;
    if (word === word.toUpperCase() && word.length > 1) return translated.toUpperCase();
    if (word[0] === word[0]!.toUpperCase()) return translated[0]!.toUpperCase() + translated.slice(1);
    return translated;
  });
}

/**
 * Translates one segment: the fixture's reference translation when the whole segment is one of the
 * fixture's, else the text between tags of XML/HTML markup word by word, leaving tags and entities
 * as they are.
 */
export function fakeTranslateMarkup(markup: string, targetLang: string): string {
  const reference = fixtureTranslation(markup, targetLang);
  if (reference !== undefined) return reference;
  return markup
    .split(/(<[^>]*>|&[#a-zA-Z0-9]+;)/)
    .map((piece, index) => (index % 2 === 1 ? piece : fakeTranslateText(piece, targetLang)))
    .join("");
}

/** Unicode code points of markup text with tags removed and entities decoded (what DeepL bills). */
export function billableCharacters(markup: string, tagHandling: boolean): number {
  const text = tagHandling
    ? markup
        .replace(/<[^>]*>/g, "")
        .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, "x")
    : markup;
  return [...text].length;
}
