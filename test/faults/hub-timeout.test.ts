import { describe, expect, it } from "vitest";
import { createFetchWithTimeout } from "../../src/remote/fetch-with-timeout";
import { startLoopbackServer } from "../servers/loopback-server";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();

describe("hub commands have --timeout (repro: fetch and push had no timeout at all)", () => {
  it("a request without an answer, and a body that stalls, fail after the timeout; a body that keeps moving does not", async () => {
    const server = await startLoopbackServer(async (request, response) => {
      if (request.url === "/silent") return; // never answers
      response.writeHead(200, { "content-type": "text/plain" });
      if (request.url === "/stalls") {
        response.write("first bytes");
        return; // and nothing more
      }
      // Moving: a chunk every 40 ms for longer than the timeout in total.
      for (let index = 0; index < 8; index++) {
        response.write(`chunk ${index};`);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      response.end();
    });
    const timed = createFetchWithTimeout({ timeoutMs: 150 });
    try {
      const silent = await timed(`${server.url}/silent`).catch((error: unknown) => error);
      expect(silent).toBeInstanceOf(TypeError);
      expect(((silent as Error).cause as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
      const stalls = await timed(`${server.url}/stalls`);
      const body = await stalls.text().catch((error: unknown) => error);
      expect(((body as Error).cause as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
      const moving = await timed(`${server.url}/moving`);
      expect(await moving.text()).toMatch(/chunk 7;$/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it("fetch --timeout against a hub that never answers exits 1 with a network message instead of hanging", async () => {
    const server = await startLoopbackServer(async () => undefined);
    const directory = await makeTemporaryDirectory();
    try {
      const run = await runCliAsync(["fetch", "mt-bench", "--out", directory, "--timeout", "0.2", "--quiet"], {
        HF_ENDPOINT: server.url,
        HF_HOME: directory,
        POLYGLOT_CACHE_DIR: directory,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/Network failure .*no answer for 0.2 s \(--timeout\)/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await server.close();
    }
  }, 60_000);
});
