/**
 * The calls waiting for an answer, by id. Each settles exactly once: with its answer,
 * or given up on (its AbortSignal fired, its timeout passed: then the store is told to
 * cancel it), or failed when the store can no longer answer.
 */

import type { StateValue } from "./values";

/** An Error with the given `name`, as the page's `catch` sees a Python exception. */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** One call's way to its Promise; it also lets go of the call's timer and abort listener. */
type Pending = { settle: (ok: boolean, value: unknown) => void };

export class PendingCalls {
  /** Why the store is gone for good (null: connected); no call starts after that. */
  gone: string | null = null;
  private readonly calls = new Map<number, Pending>();

  constructor(
    private readonly timers: Timers,
    /** Call `id` was given up on while the store may still run it. */
    private readonly cancel: (id: number) => void,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  has(id: number): boolean {
    return this.calls.has(id);
  }

  /** Wait for call `id` (written `path`): its answer, or `signal` or `timeout` (ms) first. */
  add(
    id: number,
    path: string,
    resolve: (value: StateValue) => void,
    reject: (error: unknown) => void,
    signal?: AbortSignal,
    timeout?: number,
  ): void {
    let timer: unknown = null;
    const onAbort = (): void => this.giveUp(id, "AbortError", path + "() was aborted");
    this.calls.set(id, {
      settle: (ok, value) => {
        if (timer !== null) this.timers.clearTimeout(timer);
        if (signal) signal.removeEventListener("abort", onAbort);
        if (ok) resolve(value as StateValue);
        else reject(value);
      },
    });
    if (signal) signal.addEventListener("abort", onAbort);
    if (typeof timeout === "number") {
      timer = this.timers.setTimeout(() => this.giveUp(id, "TimeoutError", path + "() did not answer within " + timeout + " ms"), timeout);
    }
  }

  /** Settle call `id` if it still waits (a late answer to one given up on is dropped). */
  settle(id: number, ok: boolean, value: unknown): void {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    call.settle(ok, value);
  }

  /** The channel closed: the answers of calls in flight are lost. */
  closed(): void {
    this.failAll("the connection to the store closed before the call was answered");
  }

  /** The store is gone for good: calls in flight fail, and so will later ones. */
  disconnected(reason: string): void {
    if (this.gone === null) this.gone = reason;
    this.failAll("this view is disconnected from its store (" + reason + ")");
  }

  private giveUp(id: number, why: string, message: string): void {
    if (!this.calls.has(id)) return;
    this.settle(id, false, namedError(why, message));
    this.cancel(id);
  }

  private failAll(message: string): void {
    const ids = Array.from(this.calls.keys());
    for (let i = 0; i < ids.length; i++) this.settle(ids[i], false, namedError("DisconnectedError", message));
  }
}
