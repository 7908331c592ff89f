import { serve, type ServerType } from "@hono/node-server";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { bundledPath } from "../package-info";

/** The header every API request carries the access token in (a cross-site page cannot set it without CORS, which the server never grants). */
export const TOKEN_HEADER = "x-review-token";
const SESSION_COOKIE = "review_session";
/** Largest request body: a corrected segment or a rating is a few KiB; a whole long conversation fits. */
export const MAX_BODY_BYTES = 256 * 1024;
const STATIC_FILES: Record<string, string> = { "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8" };

/** A fresh random access token (128 bits, URL-safe). */
export function createAccessToken(): string {
  return randomBytes(16).toString("base64url");
}

function sameToken(expected: string, provided: string | undefined): boolean {
  if (provided === undefined) return false;
  const left = Buffer.from(expected);
  const right = Buffer.from(provided);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A 4xx with a message the page shows; nothing is stored. */
export class ReviewRequestError extends HTTPException {
  constructor(status: 400 | 401 | 403 | 404 | 409 | 413 | 415, message: string) {
    super(status, { message });
  }
}

/** Parses a JSON body against a schema: 415 without JSON, 400 for malformed JSON or a bad field. */
export async function readJsonBody<T>(context: Context, schema: z.ZodType<T>): Promise<T> {
  if (!(context.req.header("content-type") ?? "").toLowerCase().startsWith("application/json")) throw new ReviewRequestError(415, "expected Content-Type: application/json");
  let value: unknown;
  try {
    value = JSON.parse(await context.req.text());
  } catch (error) {
    if (error instanceof HTTPException) throw error;
    throw new ReviewRequestError(400, `malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ReviewRequestError(400, parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  }
  return parsed.data;
}

/**
 * The app shell: token check on every request, Origin check and size limit on writes, security
 * headers, the page and its two static files. `mount` adds the mode's `/api/*` routes.
 */
export function createReviewApp(options: { token: string; title: string; mount: (api: Hono) => void }): Hono {
  const app = new Hono();
  app.use("*", async (context, next) => {
    await next();
    context.header("Cache-Control", "no-store");
    context.header("X-Content-Type-Options", "nosniff");
    // The token travels in the first URL: never send it on in a Referer.
    context.header("Referrer-Policy", "no-referrer");
    context.header("X-Frame-Options", "DENY");
    context.header("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  });
  app.use("*", async (context, next) => {
    const isApi = context.req.path.startsWith("/api/");
    // The API takes the token only from the header, so a cookie alone (sent by any page) never authorises a call.
    const provided = isApi ? context.req.header(TOKEN_HEADER) : (context.req.query("token") ?? getCookie(context, SESSION_COOKIE) ?? context.req.header(TOKEN_HEADER));
    if (!sameToken(options.token, provided)) {
      return context.json({ error: "missing or wrong access token: open the URL that build-datasets review printed" }, 401);
    }
    if (!isApi && context.req.query("token") !== undefined) {
      setCookie(context, SESSION_COOKIE, options.token, { httpOnly: true, sameSite: "Strict", path: "/" });
    }
    if (context.req.method !== "GET" && context.req.method !== "HEAD") {
      const origin = context.req.header("origin");
      const host = context.req.header("host");
      if (origin !== undefined && origin !== `http://${host}`) return context.json({ error: `cross-origin write refused (Origin ${origin})` }, 403);
    }
    return next();
  });
  app.use(
    "/api/*",
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (context) => context.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413) }),
  );
  app.get("/", async (context) => {
    const html = await readFile(bundledPath("src", "review", "static", "index.html"), "utf8");
    return context.html(html.replaceAll("{{title}}", options.title.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)));
  });
  app.get("/static/:file", async (context) => {
    const file = context.req.param("file");
    const type = STATIC_FILES[file];
    if (!type) return context.json({ error: `no such file: ${file}` }, 404);
    return context.body(await readFile(bundledPath("src", "review", "static", file)), 200, { "Content-Type": type });
  });
  const api = new Hono();
  options.mount(api);
  app.route("/api", api);
  app.notFound((context) => context.json({ error: `not found: ${context.req.method} ${context.req.path}` }, 404));
  app.onError((error, context) => {
    if (error instanceof HTTPException) return context.json({ error: error.message }, error.status);
    return context.json({ error: `internal error: ${error.message}` }, 500);
  });
  return app;
}

/** A running review server. */
export interface RunningReviewServer {
  /** Base URL, without the token. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `app` on `host:port` (port 0: any free port). */
export function startReviewServer(options: { app: Hono; host: string; port: number }): Promise<RunningReviewServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    const onError = (error: Error): void => reject(error);
    server = serve({ fetch: options.app.fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
      server!.off("error", onError);
      const shown = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host.includes(":") ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${shown}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const running = server as unknown as { close(callback: () => void): void; closeAllConnections?: () => void };
            running.close(() => done());
            running.closeAllConnections?.();
          }),
      });
    });
    server.on("error", onError);
  });
}
