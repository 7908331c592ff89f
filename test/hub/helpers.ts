import { createHash } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { makeTemporaryDirectory as makeFreshDirectory } from "../support/temporary-directory";

/** A token the fake hub accepts; the tests check it never lands on disk or in messages. */
export const SECRET_TOKEN = "hf_SecretTestToken0123456789abcdef";
export const READER_TOKEN = "hf_ReaderWithoutAcceptedTerms000000";

export const sha256Of = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A fresh temporary directory for a hub test, removed with {@link removeDirectory}. */
export async function makeTemporaryDirectory(prefix: string): Promise<string> {
  return makeFreshDirectory(`polyglot-hub-${prefix}-`);
}

export async function removeDirectory(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Every file under `root`, as `/`-separated relative paths, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (directory: string) => {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(root, full).split("\\").join("/"));
    }
  };
  await walk(root);
  return out.sort();
}

/** Deterministic pseudo-random bytes (no Math.random): a simple LCG seeded by `seed`. */
export function makeBytes(size: number, seed = 1): Buffer {
  const buffer = Buffer.alloc(size);
  let state = seed >>> 0;
  for (let index = 0; index < size; index += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    buffer[index] = state >>> 24;
  }
  return buffer;
}

/** LIMA-shaped JSONL rows (the real format: `conversations` + `source`). */
export function limaJsonl(rows: number): string {
  return Array.from({ length: rows }, (_, index) =>
    JSON.stringify({ conversations: [`Question ${index}: how do I use \`git rebase\`?`, `Answer ${index}.\n\n\`\`\`sh\ngit rebase -i HEAD~${index + 1}\n\`\`\``], source: "stackexchange" }),
  ).join("\n") + "\n";
}

/** http://127.0.0.1:PORT where nothing listens (a port that was just free), for connection-refused tests. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
