import cliProgress from "cli-progress";

export interface ProgressReporter {
  /** Reports how much is done; `extra` values are shown beside the bar (e.g. cache hits). */
  update(done: number, extra?: Record<string, string | number>): void;
  /** Prints a line without breaking the bar. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressReporterOptions {
  label: string;
  total?: number;
  unit?: string;
  quiet?: boolean;
  /** Defaults to stderr, so stdout stays clean for data. */
  stream?: NodeJS.WriteStream;
}

// Plain (non-TTY) output prints at most one line per this many milliseconds, so CI logs stay short.
const PLAIN_INTERVAL_MS = 5_000;

/**
 * A progress display: a cli-progress bar on a terminal, periodic plain lines otherwise (CI, pipes),
 * nothing with `quiet`.
 */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? "items";
  if (options.quiet) return { update() {}, log() {}, stop() {} };
  if (stream.isTTY) {
    const extrasFormat = "{extras}";
    const bar = new cliProgress.SingleBar(
      {
        format: options.total
          ? `${options.label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted} ${extrasFormat}`
          : `${options.label} {value} ${unit} ${extrasFormat}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(options.total ?? 0, 0, { extras: "" });
    return {
      update(done, extra) {
        bar.update(done, { extras: formatExtras(extra) });
      },
      log(line) {
        stream.write(`\r\x1b[K${line}\n`);
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastPrinted = 0;
  let lastDone = -1;
  const started = Date.now();
  const print = (done: number, extra?: Record<string, string | number>) => {
    const total = options.total ? `/${options.total}` : "";
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const extras = formatExtras(extra);
    stream.write(`${options.label}: ${done}${total} ${unit} (${seconds}s)${extras ? " " + extras : ""}\n`);
    lastDone = done;
  };
  let latest: { done: number; extra?: Record<string, string | number> } = { done: 0 };
  return {
    update(done, extra) {
      latest = { done, extra };
      const now = Date.now();
      if (now - lastPrinted >= PLAIN_INTERVAL_MS) {
        lastPrinted = now;
        print(done, extra);
      }
    },
    log(line) {
      stream.write(line + "\n");
    },
    stop() {
      if (latest.done !== lastDone) print(latest.done, latest.extra);
    },
  };
}

function formatExtras(extra?: Record<string, string | number>): string {
  if (!extra) return "";
  return Object.entries(extra)
    .map(([key, value]) => `${key}: ${value}`)
    .join(" | ");
}
