/**
 * Calls: `Pytonium.<object>.<name>(...args)` and `Pytonium.callFunction(name, ...args)`
 * call a Python function bound with `bind_function_to_javascript` and return a
 * Promise of its result (docs/protocol.md, "Calls").
 *
 * Every Promise settles exactly once: with the result, with the Python
 * exception (an Error whose `name` is its class), at once for an unknown name,
 * a wrong argument count or a value that is not a state value, with an
 * `AbortError` when the caller's AbortSignal fires, with a `TimeoutError`
 * after the call's timeout, or with a `DisconnectedError` when the view loses
 * its store (nothing would answer any more). The last argument may be an
 * AbortSignal or `Pytonium.callOptions({signal, timeout})`.
 */

import { CallOptionTokens, type CallOptions, type CallOptionsToken } from "./calloptions";
import { BoundFunctions, pathOf } from "./boundfunctions";
import { CallInbound } from "./callinbound";
import { CallSender } from "./callsender";
import { namedError, PendingCalls, type Timers } from "./pendingcalls";
import type { BoundFunction, StoreMessage, ViewMessage } from "./protocol";
import { cleanValue, describe, type StateValue } from "./values";

export type { CallOptions, CallOptionsToken } from "./calloptions";
export { namedError } from "./pendingcalls";

export interface CallsOptions {
  viewId: string;
  /** Send one message to the store (the caller chunks it). */
  send(msg: ViewMessage): void;
  /** The functions bound when the page was served (its config), until the store says otherwise. */
  functions?: BoundFunction[];
  warn?: (message: string) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export interface Calls {
  callFunction(name: string, ...args: unknown[]): Promise<StateValue>;
  callOptions(options: CallOptions): CallOptionsToken;
  /** `Pytonium[prop]` for a name the object itself lacks: a bound function or object, else undefined. */
  member(prop: string): unknown;
  has(prop: string): boolean;
  /** Take a store message meant for calls; returns false for any other. */
  receive(msg: StoreMessage): boolean;
  /** The channel closed: calls in flight fail (their answers are lost). */
  closed(): void;
  /** The store is gone for good: calls in flight and later ones fail. */
  disconnected(reason: string): void;
  /** How many calls wait for an answer. */
  readonly pending: number;
}

export function createCalls(options: CallsOptions): Calls {
  const timers: Timers = {
    setTimeout: options.setTimeout || ((fn: () => void, ms: number) => setTimeout(fn, ms)),
    clearTimeout: options.clearTimeout || ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>)),
  };
  const tokens = new CallOptionTokens();
  const bound = new BoundFunctions(invoke, options.warn || ((m: string) => console.warn(m)));
  const pending = new PendingCalls(timers, (id) => sender.cancel(id));
  let ids = 0;
  const sender = new CallSender(options.viewId, options.send, (id) => pending.has(id));
  const inbound = new CallInbound(options.viewId, pending, bound);

  function invoke(object: string, name: string, given: unknown[]): Promise<StateValue> {
    const path = pathOf(object, name);
    const { args, signal, timeout } = tokens.take(given);
    return new Promise<StateValue>((resolve, reject) => {
      if (pending.gone !== null) {
        return reject(namedError("DisconnectedError", "Pytonium." + path + "(): this view is disconnected from its store (" + pending.gone + ")"));
      }
      const fn = bound.find(object, name);
      if (!fn) return reject(namedError("ReferenceError", "Pytonium." + path + " is not bound (bound: " + bound.known() + ")"));
      if (args.length < fn.min || (fn.max >= 0 && args.length > fn.max)) {
        const takes = fn.max < 0 ? "at least " + fn.min : fn.min === fn.max ? String(fn.min) : fn.min + " to " + fn.max;
        return reject(new TypeError(path + "() takes " + takes + " argument" + (takes === "1" ? "" : "s") + ", got " + args.length));
      }
      const clean: StateValue[] = [];
      try {
        for (let i = 0; i < args.length; i++) clean.push(cleanValue(path, "arguments[" + i + "]", args[i]));
      } catch (err) {
        return reject(err);
      }
      if (signal && signal.aborted) return reject(namedError("AbortError", path + "() was aborted before it was sent"));
      const id = ++ids;
      pending.add(id, path, resolve, reject, signal, timeout);
      sender.call({ t: "call", view: options.viewId, id, object, name, args: clean });
    });
  }

  bound.learn(options.functions || []);

  return {
    callFunction(name: string, ...args: unknown[]): Promise<StateValue> {
      if (typeof name !== "string" || name === "") {
        return Promise.reject(new TypeError("Pytonium.callFunction: name must be a non-empty string, got " + describe(name)));
      }
      return invoke("", name, args);
    },
    callOptions(given: CallOptions): CallOptionsToken {
      return tokens.make(given);
    },
    member: (prop: string) => bound.member(prop),
    has: (prop: string) => bound.has(prop),
    receive: (msg: StoreMessage) => inbound.receive(msg),
    closed: () => pending.closed(),
    disconnected: (reason: string) => pending.disconnected(reason),
    get pending() {
      return pending.size;
    },
  };
}
