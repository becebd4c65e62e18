/**
 * Starting a call: check it against its bound function, then wait for its answer
 * (pendingcalls.ts) and queue it (callsender.ts). A call that cannot leave (view
 * disconnected, unknown name, wrong argument count, an argument that is not a state
 * value, already aborted) is rejected at once and sends nothing.
 */

import { pathOf, type BoundFunctions } from "./boundfunctions";
import type { CallOptionTokens } from "./calloptions";
import type { CallSender } from "./callsender";
import { namedError, type PendingCalls } from "./pendingcalls";
import type { BoundFunction } from "./protocol";
import { cleanValue, type StateValue } from "./values";

export interface StartParts {
  viewId: string;
  tokens: CallOptionTokens;
  bound: BoundFunctions;
  pending: PendingCalls;
  sender: CallSender;
}

export class CallStarter {
  private ids = 0;

  constructor(private readonly parts: StartParts) {}

  start(object: string, name: string, given: unknown[]): Promise<StateValue> {
    const path = pathOf(object, name);
    const { args, signal, timeout } = this.parts.tokens.take(given);
    // What check throws rejects the Promise: the page's .catch sees it, not a throw at the call.
    return new Promise<StateValue>((resolve, reject) => {
      const clean = this.check(object, name, path, args, signal);
      const id = ++this.ids;
      this.parts.pending.add(id, path, resolve, reject, signal, timeout);
      this.parts.sender.call({ t: "call", view: this.parts.viewId, id, object, name, args: clean });
    });
  }

  /** The arguments as state values, or throws why the call cannot leave. */
  private check(object: string, name: string, path: string, args: unknown[], signal?: AbortSignal): StateValue[] {
    const { pending, bound } = this.parts;
    if (pending.gone !== null) {
      throw namedError("DisconnectedError", "Pytonium." + path + "(): this view is disconnected from its store (" + pending.gone + ")");
    }
    const fn = bound.find(object, name);
    if (!fn) throw namedError("ReferenceError", "Pytonium." + path + " is not bound (bound: " + bound.known() + ")");
    if (wrongCount(fn, args.length)) throw new TypeError(path + "() takes " + describeTakes(fn) + ", got " + args.length);
    const clean: StateValue[] = [];
    for (let i = 0; i < args.length; i++) clean.push(cleanValue(path, "arguments[" + i + "]", args[i]));
    if (signal && signal.aborted) throw namedError("AbortError", path + "() was aborted before it was sent");
    return clean;
  }
}

function wrongCount(fn: BoundFunction, count: number): boolean {
  return count < fn.min || (fn.max >= 0 && count > fn.max);
}

/** "1 argument", "2 arguments", "0 to 1 arguments", "at least 0 arguments" (max -1: any number). */
function describeTakes(fn: BoundFunction): string {
  const n = fn.max < 0 ? "at least " + fn.min : fn.min === fn.max ? String(fn.min) : fn.min + " to " + fn.max;
  return n + " argument" + (n === "1" ? "" : "s");
}
