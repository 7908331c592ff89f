// A stand-in for `vllm serve` (plain JavaScript, run by a `vllm` shim on PATH): parses the command line
// `generate --serve vllm` builds, writes it to $FAKE_VLLM_RECORD, and serves /v1/models (the base model and
// every --lora-modules name) and /v1/completions (deterministic text) on --port until SIGTERM.
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";

const args = process.argv.slice(2);
const valueOf = (name) => args[args.indexOf(name) + 1];
const modules = [];
for (let index = args.indexOf("--lora-modules") + 1; index < args.length && !args[index].startsWith("--"); index += 1) {
  modules.push(args[index].split("=")[0]);
}
const models = [valueOf("--served-model-name"), ...modules];
if (process.env.FAKE_VLLM_RECORD) writeFileSync(process.env.FAKE_VLLM_RECORD, JSON.stringify({ args, pid: process.pid }));

const server = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" });
    if (request.url === "/v1/models") {
      response.end(JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model" })) }));
      return;
    }
    const { model, prompt } = JSON.parse(body);
    response.end(JSON.stringify({ object: "text_completion", model, choices: [{ index: 0, text: ` ${model} read ${prompt.length} ids`, finish_reason: "stop" }] }));
  });
});
server.listen(Number(valueOf("--port")), valueOf("--host"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
