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

/**
 * The name of the runtime's own frames in stacks and error events. The runtime is
 * injected inline, so without a name its frames would carry the page's URL and the
 * line it sits on (`about:srcdoc:3`); `pytonium_lab/_page.py` ends it with
 * `//# sourceURL=` this name.
 */
export const RUNTIME_URL = "pytonium-runtime.js";

const FRAME = /^\s*at (?:.*?\()?((?:[a-z]+:)?[^\s()]*?):(\d+):\d+\)?\s*$/;

/**
 * `file:line` of the first frame of a V8 `stack` that is the page's own: past the
 * first `skip` frames, the runtime's frames and native ones (`Array.forEach`).
 * Empty when there is none.
 */
export function pageSource(stack: string, skip = 0): string {
  const lines = stack.split("\n");
  let frames = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*at /.test(lines[i])) continue; // the message, which may span lines
    if (frames++ < skip) continue;
    const match = FRAME.exec(lines[i]);
    if (match && !isRuntime(match[1])) return cleanUrl(match[1]) + ":" + match[2];
  }
  return "";
}

function isRuntime(file: string): boolean {
  return file === RUNTIME_URL || file.slice(-RUNTIME_URL.length - 1) === "/" + RUNTIME_URL;
}

/** `file:line` where the page called a console method: past this function and the console wrapper. */
function callerSource(): string {
  return pageSource(new Error().stack || "", 2);
}

/** Where an uncaught error comes from: the page's frame when the runtime threw it (a call the page made). */
function errorSource(e: ErrorEvent): string {
  if (!e.filename) return "";
  const where = cleanUrl(e.filename) + ":" + e.lineno;
  if (!isRuntime(e.filename)) return where;
  const stack = e.error instanceof Error && e.error.stack ? e.error.stack : "";
  return pageSource(stack) || where;
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
    const stack = e.error instanceof Error && e.error.stack ? e.error.stack : "";
    emit("error", stack ? "Uncaught " + stack : e.message, errorSource(e));
  });
  win.addEventListener("unhandledrejection", (event: Event) => {
    if (!admit()) return;
    const reason = (event as PromiseRejectionEvent).reason;
    const where = reason instanceof Error && reason.stack ? pageSource(reason.stack) : "";
    emit("error", "Unhandled promise rejection: " + text(reason), where);
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
