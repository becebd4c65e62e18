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
 *
 * createCalls wires the parts: calloptions.ts (a call's trailing options),
 * boundfunctions.ts (the bound list and the `Pytonium` members made from it),
 * callstart.ts (checking a call and starting it), pendingcalls.ts (the calls awaiting
 * an answer), callsender.ts (what goes to the store), callinbound.ts (what comes back).
 */

import { BoundFunctions } from "./boundfunctions";
import { CallOptionTokens, type CallOptions, type CallOptionsToken } from "./calloptions";
import { CallInbound } from "./callinbound";
import { CallSender } from "./callsender";
import { CallStarter } from "./callstart";
import { PendingCalls, type Timers } from "./pendingcalls";
import type { BoundFunction, StoreMessage, ViewMessage } from "./protocol";
import { describe, type StateValue } from "./values";

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
  const viewId = options.viewId;
  const tokens = new CallOptionTokens();
  // Two pairs need each other, so each meets through an arrow function that runs only
  // once both exist: the table cancels through the sender, which sends only the calls
  // the table still holds; bound functions start calls, which look up bound functions.
  const pending = new PendingCalls(timersOf(options), (id) => sender.cancel(id));
  const sender = new CallSender(viewId, options.send, (id) => pending.has(id));
  const warn = options.warn || ((m: string) => console.warn(m));
  const bound: BoundFunctions = new BoundFunctions((object, name, args) => starter.start(object, name, args), warn);
  const starter = new CallStarter({ viewId, tokens, bound, pending, sender });
  const inbound = new CallInbound(viewId, pending, bound);
  bound.learn(options.functions || []);
  return callsApi({ tokens, bound, pending, starter, inbound });
}

function timersOf(options: CallsOptions): Timers {
  return {
    setTimeout: options.setTimeout || ((fn: () => void, ms: number) => setTimeout(fn, ms)),
    clearTimeout: options.clearTimeout || ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>)),
  };
}

/** The methods boot.ts uses; none uses `this`, as `Pytonium.callFunction` is handed out alone. */
function callsApi(parts: {
  tokens: CallOptionTokens;
  bound: BoundFunctions;
  pending: PendingCalls;
  starter: CallStarter;
  inbound: CallInbound;
}): Calls {
  const { tokens, bound, pending, starter, inbound } = parts;
  return {
    callFunction(name: string, ...args: unknown[]): Promise<StateValue> {
      if (typeof name !== "string" || name === "") {
        return Promise.reject(new TypeError("Pytonium.callFunction: name must be a non-empty string, got " + describe(name)));
      }
      return starter.start("", name, args);
    },
    callOptions: (given: CallOptions) => tokens.make(given),
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
