/**
 * Runs a batched judge run in a child process, for the kill-and-resume test:
 * tsx test/eval/judge-batch-child.ts <bench> <answers> <out> <baseUrl>
 */
import { createOpenAICompatibleJudge, judgeMtBench } from "../../src/eval/index";

const [bench, answers, out, baseUrl] = process.argv.slice(2);
await judgeMtBench({
  bench: bench!,
  answers: answers!,
  out: out!,
  provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: baseUrl!, apiKey: "child-key" }),
  mode: "pairwise-baseline",
  baseline: "m-base",
  batch: { pollIntervalMs: 20 },
  retry: { retries: 0 },
});
