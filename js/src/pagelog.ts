/**
 * The page's errors and warnings, told to Python (the `log` message of docs/protocol.md).
 *
 * A page's console lives in its sandboxed iframe or window, where a notebook
 * user never looks: uncaught errors, unhandled promise rejections and
 * `console.error` / `console.warn` are sent on the page's channel instead,
 * so the store side logs them and the notebook view lists them under the page.
 * A page that logs in a tight loop is cut to `burst` entries, then `perSecond`,
 * and the next entry that goes out says how many were dropped.
 */

import type { LogMsg } from "./protocol";

export type LogLevel = LogMsg["level"];

/** A `log` message without its envelope: `source` is `file:line` (empty when unknown), `dropped` counts the entries the rate limit dropped since the last one sent. */
export type LogEntry = Omit<LogMsg, "t" | "view">;

export interface PageLogOptions {
  burst?: number;
  perSecond?: number;
  now?: () => number;
}

/** One argument of a console call as text. */
function text(value: unknown): string {
  if (value instanceof Error) return value.stack || value.name + ": " + value.message;
  if (typeof value === "string") return value;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch (err) {
    return String(value);
  }
}

/**
 * Text with every URL's query and fragment cut (up to the `:line:col` a stack
 * adds): a desktop page's URL carries the session token, which has no
 * business in a log.
 */
function cleanUrl(text: string): string {
  return text.replace(/[?#][^\s():]*/g, "");
}

/** `file:line` of the caller of a console method (the stack's third line: Error, the wrapper, the caller). */
function callerSource(): string {
  const stack = new Error().stack || "";
  const line = stack.split("\n")[3] || "";
  const match = /((?:[a-z]+:)?[^\s()]*?):(\d+):\d+\)?\s*$/.exec(line);
  return match ? cleanUrl(match[1]) + ":" + match[2] : "";
}

function shorten(message: string, limit = 4000): string {
  return message.length > limit ? message.slice(0, limit) + "... (" + message.length + " characters)" : message;
}

export function reportPageLog(win: Window, send: (entry: LogEntry) => void, options: PageLogOptions = {}): void {
  const burst = options.burst || 20;
  const perSecond = options.perSecond || 10;
  const now = options.now || (() => Date.now());
  let tokens = burst;
  let last = now();
  let dropped = 0;
  let busy = false; // a send that logs must not loop back here

  /** Whether an entry may go out now (the rate limit counts the ones it drops); decided before any text is made. */
  function admit(): boolean {
    if (busy) return false;
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
    last = t;
    if (tokens < 1) {
      dropped++;
      return false;
    }
    tokens -= 1;
    return true;
  }

  function emit(level: LogLevel, message: string, source: string): void {
    busy = true;
    try {
      send({ level, message: shorten(cleanUrl(message)), source, dropped });
      dropped = 0;
    } catch (err) {
      // The channel is gone: nothing more can be told.
    } finally {
      busy = false;
    }
  }

  win.addEventListener("error", (event: Event) => {
    const e = event as ErrorEvent;
    if (typeof e.message !== "string" || !admit()) return; // not a script error (a resource that failed to load)
    const where = e.filename ? cleanUrl(e.filename) + ":" + e.lineno : "";
    const stack = e.error instanceof Error && e.error.stack ? e.error.stack : "";
    emit("error", stack ? "Uncaught " + stack : e.message, where);
  });
  win.addEventListener("unhandledrejection", (event: Event) => {
    if (!admit()) return;
    emit("error", "Unhandled promise rejection: " + text((event as PromiseRejectionEvent).reason), "");
  });
  const consoleObject = (win as unknown as { console: Console }).console;
  (["error", "warn"] as LogLevel[]).forEach((level) => {
    const original = consoleObject[level];
    consoleObject[level] = function (...args: unknown[]): void {
      original.apply(consoleObject, args);
      if (admit()) emit(level, args.map(text).join(" "), callerSource()); // called here: the stack's caller line
    };
  });
}
