import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, readSource, type CanonicalRecord } from "../../src/index";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();

async function load(name: string, lines: unknown[], options: { format?: "lima" | "alpaca"; lang?: string } = {}) {
  const path = join(await makeDirectory(), name);
  await writeFile(path, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + "\n");
  const records: CanonicalRecord[] = [];
  for await (const record of readSource({ path, ...options })) records.push(record);
  return records;
}

async function loadError(name: string, lines: unknown[]) {
  return load(name, lines).then(
    () => {
      throw new Error("expected an error");
    },
    (error: unknown) => error as InputError,
  );
}

describe("source loaders", () => {
  it("LIMA: ids by line index, alternating roles, multi-turn rows kept whole, source in meta", async () => {
    const records = await load("train.jsonl", [
      { conversations: ["Q?", "A."], source: "stackexchange" },
      { conversations: ["Hi", "Hello", "More?", "Sure"], source: "multi_turn" },
    ]);
    expect(records).toEqual([
      { id: "lima-0000", lang: "en", source: "lima", messages: [{ role: "user", content: "Q?" }, { role: "assistant", content: "A." }], meta: { source: "stackexchange" } },
      {
        id: "lima-0001",
        lang: "en",
        source: "lima",
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello" },
          { role: "user", content: "More?" },
          { role: "assistant", content: "Sure" },
        ],
        meta: { source: "multi_turn" },
      },
    ]);
  });

  it("reads the real LIMA row shape from the reference data", async () => {
    const path = join(import.meta.dirname, "..", "..", "..", "shared", "reference-data", "lima", "train_row0.jsonl");
    const { existsSync } = await import("node:fs");
    if (!existsSync(path)) return; // the reference data sits beside the repository only on our machines
    const records: CanonicalRecord[] = [];
    for await (const record of readSource({ path })) records.push(record);
    expect(records[0]).toMatchObject({ id: "lima-0000", lang: "en", meta: { source: "stackexchange" } });
    expect(records[0]!.messages.map((message) => message.role)).toEqual(["user", "assistant"]);
  });

  it("Bactrian-X: instruction + input -> user, output -> assistant, language from the file name, origin in meta", async () => {
    const records = await load("fr.jsonl", [
      { instruction: "Résume.", input: "Un texte.", id: "alpaca-7", output: "Court." },
      { instruction: "Dis bonjour.", input: "", id: "dolly-9", output: "Bonjour !" },
    ]);
    expect(records.map((record) => [record.id, record.lang, record.messages[0]!.content, record.meta])).toEqual([
      ["alpaca-7", "fr", "Résume.\n\nUn texte.", { origin: "alpaca" }],
      ["dolly-9", "fr", "Dis bonjour.", { origin: "dolly" }],
    ]);
  });

  it("OpenAI messages, ShareGPT, Alpaca and MT-Bench questions", async () => {
    expect((await load("de.jsonl", [{ messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }] }]))[0]).toMatchObject({
      lang: "de",
      messages: [{ role: "system" }, { role: "user" }],
    });
    expect((await load("it.jsonl", [{ conversations: [{ from: "human", value: "Ciao" }, { from: "gpt", value: "Salve" }] }]))[0]!.messages).toEqual([
      { role: "user", content: "Ciao" },
      { role: "assistant", content: "Salve" },
    ]);
    expect((await load("es.jsonl", [{ instruction: "Di hola", input: "", output: "Hola" }]))[0]).toMatchObject({ id: "alpaca-0", source: "alpaca" });
    const [question] = await load("question.jsonl", [{ question_id: "81_DE", category: "writing", turns: ["Eins", "Zwei"] }]);
    expect(question).toMatchObject({ id: "mt-bench-81", lang: "de", meta: { question_id: "81_DE", category: "writing" } });
  });

  it("names the fields it saw and the formats it knows for an unrecognised file", async () => {
    const error = await loadError("en.jsonl", [{ prompt_text: "x", answer: "y" }]);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain("en.jsonl:1: unrecognised format: the row has fields [prompt_text, answer]");
    expect(error.message).toContain("lima (conversations[string], source)");
    expect(error.message).toContain("bactrian-x (instruction, input, id, output)");
  });

  it("names file, line and field of a missing or mistyped field", async () => {
    const missing = await loadError("de.jsonl", [
      { instruction: "a", input: "", id: "alpaca-1", output: "b" },
      { instruction: "a", input: "", id: "alpaca-2", output: 3 },
    ]);
    expect(missing.message).toBe('de.jsonl:2 field "output": expected a string, found number 3'.replace("de.jsonl", missing.file!));
    expect(missing.line).toBe(2);
    expect(missing.field).toBe("output");

    const role = await loadError("de.jsonl", [{ id: "x", lang: "de", source: "s", messages: [{ role: "bot", content: "c" }], meta: {} }]);
    expect(role.field).toBe("messages.0.role");

    const language = await loadError("data.jsonl", [{ id: "x", lang: "DE", source: "s", messages: [{ role: "user", content: "c" }], meta: {} }]);
    expect(language.field).toBe("lang");
    expect(language.message).toContain("ISO 639-1");
  });

  it("forces a format with an option and rejects rows that do not fit it", async () => {
    const error = await load("en.jsonl", [{ messages: [] }], { format: "lima" }).catch((caught: unknown) => caught as InputError);
    expect((error as InputError).field).toBe("conversations");
  });
});
