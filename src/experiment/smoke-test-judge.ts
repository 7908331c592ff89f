import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The judge model name of the smoke-test scorer; it appears in every judgment it makes. */
export const SMOKE_TEST_JUDGE_MODEL = "smoke-test-judge";

/** Text of every smoke-test judgment, before the rating. */
export const SMOKE_TEST_NOTICE = "SMOKE TEST: a deterministic scorer, not an LLM judge; these scores say nothing about the answer.";

/** A running smoke-test judge. */
export interface SmokeTestJudge {
  /** Base URL for an OpenAI client: `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The score of a judge prompt: 1-10 from the sha256 of the prompt (which holds the answer), so the
 * same answer always gets the same score on every machine, and different models get different ones.
 */
export function smokeTestScore(prompt: string): number {
  return (createHash("sha256").update(prompt).digest().readUInt32BE(0) % 10) + 1;
}

/**
 * Starts the smoke-test judge on 127.0.0.1 (port 0): an OpenAI-compatible `POST /v1/chat/completions`
 * that answers `SMOKE TEST ... Rating: [[N]]`. Lets the whole experiment run with no key and no network.
 */
export async function startSmokeTestJudge(): Promise<SmokeTestJudge> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      if (request.method !== "POST" || !url.pathname.endsWith("/chat/completions")) {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
        return;
      }
      let body: { model?: string; messages?: { role: string; content: string }[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
      } catch {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
        return;
      }
      const prompt = (body.messages ?? []).map((message) => message.content).join("\n");
      const content = `${SMOKE_TEST_NOTICE}\nRating: [[${smokeTestScore(prompt)}]]`;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: "smoke-test",
          object: "chat.completion",
          created: 0,
          model: body.model ?? SMOKE_TEST_JUDGE_MODEL,
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage: { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: 24, total_tokens: Math.ceil(prompt.length / 4) + 24 },
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
