import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A fault a fake server can inject into one request: an HTTP error (with optional Retry-After),
 * a dropped connection, or a delay before the normal answer.
 */
export type HttpFault =
  | { status: number; retryAfter?: string; body?: unknown; headers?: Record<string, string> }
  | { drop: true }
  | { delayMs: number };

/** Applies a fault; returns true when the request was answered (or dropped) by the fault. */
export async function applyFault(fault: HttpFault | undefined, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  if (!fault) return false;
  if ("drop" in fault) {
    request.socket.destroy();
    return true;
  }
  if ("delayMs" in fault) {
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    return false;
  }
  const headers: Record<string, string> = { "content-type": "application/json", ...(fault.headers ?? {}) };
  if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
  response.writeHead(fault.status, headers);
  response.end(typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body ?? { message: `injected ${fault.status}` }));
  return true;
}

/** Reads a request body as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
