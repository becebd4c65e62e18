/**
 * The page half of the calls property test (tests/model/test_calls_settle.py).
 *
 * Runs the real `createCalls` with a clock the Python test owns. One JSON command
 * per line on stdin; one JSON line back with what the page sent meanwhile (`out`)
 * and the Promises that settled meanwhile (`settled`: [k, "ok"|"err", value or error name]),
 * after the microtasks ran.
 *
 * Commands: reset, call {object, name, args, abort, timeout}, abort {k}, tick {ms},
 * receive {msg}, closed, disconnected, pending.
 */

import * as readline from "node:readline";
import { createCalls, type Calls } from "../../src/calls";
import type { BoundFunction, StoreMessage, ViewMessage } from "../../src/protocol";

type Timer = { at: number; fn: () => void; live: boolean };

let out: ViewMessage[] = [];
let settled: Array<[number, string, unknown]> = [];
let calls: Calls;
let now = 0;
let timers: Timer[] = [];
let controllers: Array<AbortController | null> = [];
let count = 0;

function reset(functions: BoundFunction[]): void {
  now = 0;
  timers = [];
  controllers = [];
  count = 0;
  calls = createCalls({
    viewId: "view:page",
    send: (msg) => out.push(JSON.parse(JSON.stringify(msg))),
    functions,
    warn: () => {},
    setTimeout: (fn, ms) => {
      const t: Timer = { at: now + ms, fn, live: true };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      (t as Timer).live = false;
    },
  });
}

function run(c: { op: string; [k: string]: unknown }): unknown {
  switch (c.op) {
    case "reset":
      return reset(c.functions as BoundFunction[]);
    case "call": {
      const k = count++;
      const args = (c.args as unknown[]).slice();
      const controller = c.abort ? new AbortController() : null;
      controllers[k] = controller;
      if (controller) args.push(controller.signal);
      if (typeof c.timeout === "number") args.push(calls.callOptions({ timeout: c.timeout }));
      const fn = c.object ? (calls.member(c.object as string) as { [n: string]: (...a: unknown[]) => Promise<unknown> } | undefined) : undefined;
      const p = c.object
        ? fn && fn[c.name as string]
          ? fn[c.name as string](...args)
          : calls.callFunction(c.name as string, ...args)
        : calls.callFunction(c.name as string, ...args);
      p.then(
        (v) => settled.push([k, "ok", v]),
        (e: Error) => settled.push([k, "err", e.name]),
      );
      return k;
    }
    case "abort": {
      const controller = controllers[c.k as number];
      if (controller) controller.abort();
      return null;
    }
    case "tick": {
      now += c.ms as number;
      const due = timers.filter((t) => t.live && t.at <= now);
      timers = timers.filter((t) => t.live && t.at > now);
      due.forEach((t) => t.fn());
      return null;
    }
    case "receive":
      return calls.receive(c.msg as StoreMessage);
    case "closed":
      return calls.closed();
    case "disconnected":
      return calls.disconnected("gone");
    case "pending":
      return calls.pending;
    default:
      throw new Error("unknown command " + c.op);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  out = [];
  settled = [];
  let result: unknown;
  let error: string | null = null;
  try {
    result = run(JSON.parse(line));
  } catch (err) {
    error = String(err && (err as Error).stack ? (err as Error).stack : err);
  }
  setImmediate(() => process.stdout.write(JSON.stringify({ out, settled, result, error }) + "\n")); // after the microtasks
});
