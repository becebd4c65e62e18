/** The options a call may end with: an AbortSignal, or `Pytonium.callOptions({signal, timeout})`. */

import { describe } from "./values";

export type CallOptions = { signal?: AbortSignal; timeout?: number };

/** What `Pytonium.callOptions(...)` returns: recognised only by identity, so no state value is mistaken for it. */
export interface CallOptionsToken {
  readonly signal?: AbortSignal;
  readonly timeout?: number;
}

/** A call's arguments with its options taken off the end. */
export type SplitCall = { args: unknown[]; signal?: AbortSignal; timeout?: number };

export function isSignal(value: unknown): value is AbortSignal {
  return typeof AbortSignal !== "undefined" && value instanceof AbortSignal;
}

export class CallOptionTokens {
  private readonly tokens = new WeakSet<object>();

  /** `Pytonium.callOptions(given)`: checked now, so a bad option fails where it is written. */
  make(given: CallOptions): CallOptionsToken {
    if (given === null || typeof given !== "object") {
      throw new TypeError("Pytonium.callOptions: expected {signal, timeout}, got " + describe(given));
    }
    if (given.signal !== undefined && !isSignal(given.signal)) {
      throw new TypeError("Pytonium.callOptions: signal must be an AbortSignal, got " + describe(given.signal));
    }
    if (given.timeout !== undefined && !(typeof given.timeout === "number" && given.timeout >= 0)) {
      throw new TypeError("Pytonium.callOptions: timeout must be a number of milliseconds >= 0, got " + describe(given.timeout));
    }
    const token: CallOptionsToken = Object.freeze({ signal: given.signal, timeout: given.timeout });
    this.tokens.add(token);
    return token;
  }

  /** Split `given` into the arguments and the options its last item carries, if any. */
  take(given: unknown[]): SplitCall {
    const args = given.slice();
    const last = args[args.length - 1];
    if (isSignal(last)) {
      args.pop();
      return { args, signal: last };
    }
    if (last !== null && typeof last === "object" && this.tokens.has(last as object)) {
      args.pop();
      return { args, signal: (last as CallOptionsToken).signal, timeout: (last as CallOptionsToken).timeout };
    }
    return { args };
  }
}
