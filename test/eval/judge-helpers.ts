import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startOpenAIServer, type OpenAIBatchServer, type OpenAIServerOptions, type OpenAIServerReply } from "../servers/openai-server";

/**
 * Shared set-up of the pairwise, several-judges and Batch API tests: synthetic German answers whose
 * text names the model, question and turn, so a fake judge can tell which answer it was shown as A.
 */
export const PANEL_MODELS = ["m-base", "m-strong", "m-weak"] as const;
export const QUESTIONS = [81, 101, 121] as const;

/** Writes `<dir>/mt_bench_DE/model_answer/<model>.jsonl` for the three synthetic models. */
export async function writePanelAnswers(directory: string): Promise<string> {
  const answers = join(directory, "answers");
  await mkdir(join(answers, "mt_bench_DE", "model_answer"), { recursive: true });
  for (const model of PANEL_MODELS) {
    const rows = QUESTIONS.map((question) => ({
      question_id: `${question}_DE`,
      answer_id: `${model}-${question}`,
      model_id: model,
      choices: [{ index: 0, turns: [1, 2].map((turn) => `Antwort von <${model}> auf Frage ${question}, Runde ${turn}.`) }],
      tstamp: 1_750_000_000,
    }));
    await writeFile(join(answers, "mt_bench_DE", "model_answer", `${model}.jsonl`), rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
  }
  return answers;
}

/** What a pairwise prompt shows: the models in the order A, B, the question and the judged turn. */
export function readPairPrompt(userPrompt: string): { a: string; b: string; question: number; turn: 1 | 2 } {
  const models = [...userPrompt.matchAll(/<(m-[a-z]+)>/g)].map((match) => match[1]!);
  const unique = [...new Set(models)];
  return {
    a: unique[0]!,
    b: unique[1]!,
    question: Number(/Frage (\d+)/.exec(userPrompt)![1]),
    turn: userPrompt.includes("Runde 2") ? 2 : 1,
  };
}

export const STRENGTH: Record<string, number> = { "m-strong": 3, "m-base": 2, "m-weak": 1 };

export async function startServer(servers: OpenAIBatchServer[], options: Partial<OpenAIServerOptions> & { reply: (userPrompt: string, index: number) => OpenAIServerReply | Promise<OpenAIServerReply> }): Promise<OpenAIBatchServer> {
  const server = await startOpenAIServer({
    ...options,
    handle: (body, { index }) => options.reply(body.messages.find((message) => message.role === "user")?.content ?? "", index),
  });
  servers.push(server);
  return server;
}
