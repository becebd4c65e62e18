/**
 * A view's copy of the store's state and its place in the protocol's stream:
 * the one implementation the page runtime (runtime.ts) and the widget model's
 * own mirror (relay.ts) share.
 *
 * The rules (docs/protocol.md): a snapshot starts the mirror over at its `seq`
 * and `rev`; the next batch must be `seq + 1` (a gap means the caller says
 * `hello`); a change at or below the mirror's `rev` is already in it (the
 * snapshot it started from includes it); a change puts or drops its key.
 * What a caller does around that (pending writes, events, acks) stays with it.
 */

import type { Batch, Change, Snapshot } from "./protocol";
import type { StateValue } from "./values";

export type StateMap = Map<string, Map<string, StateValue>>;
export type PlainState = { [ns: string]: { [key: string]: StateValue } };

export class Mirror {
  state: StateMap = new Map();
  /** The number of the last batch applied (or of the snapshot started from). */
  seq = 0;
  /** The store revision the mirror shows: changes at or below it are in it already. */
  rev = 0;
  /** The view's namespaces, from the snapshot (null: all). */
  namespaces: string[] | null = null;

  has(ns: string, key: string): boolean {
    const keys = this.state.get(ns);
    return keys !== undefined && keys.has(key);
  }

  get(ns: string, key: string): StateValue | undefined {
    const keys = this.state.get(ns);
    return keys === undefined ? undefined : keys.get(key);
  }

  put(ns: string, key: string, value: StateValue): void {
    let keys = this.state.get(ns);
    if (!keys) this.state.set(ns, (keys = new Map()));
    keys.set(key, value);
  }

  /** Remove a key; whether it was there. */
  drop(ns: string, key: string): boolean {
    const keys = this.state.get(ns);
    if (!keys || !keys.has(key)) return false;
    keys.delete(key);
    if (keys.size === 0) this.state.delete(ns);
    return true;
  }

  /** Start over from `snapshot`; returns the state it replaces (for callers that compare). */
  load(snapshot: Snapshot): StateMap {
    const next: StateMap = new Map();
    const state = snapshot.state || {};
    Object.keys(state).forEach((ns) => {
      const keys = new Map<string, StateValue>();
      Object.keys(state[ns]).forEach((key) => keys.set(key, state[ns][key]));
      if (keys.size) next.set(ns, keys);
    });
    const old = this.state;
    this.state = next;
    this.seq = snapshot.seq;
    this.rev = typeof snapshot.rev === "number" ? snapshot.rev : 0;
    this.namespaces = Array.isArray(snapshot.namespaces) ? snapshot.namespaces.slice() : null;
    return old;
  }

  /** Whether `batch` is the next one; if so it becomes the mirror's place. False: a gap (say `hello`). */
  follows(batch: Batch): boolean {
    if (batch.seq !== this.seq + 1) return false;
    this.seq = batch.seq;
    return true;
  }

  /** Whether `change` is newer than what the mirror shows; if so its revision becomes the mirror's. */
  newer(change: Change): boolean {
    if (change.rev <= this.rev) return false;
    this.rev = change.rev;
    return true;
  }

  /** Put or drop the change's key. */
  apply(change: Change): void {
    if (change.removed) this.drop(change.ns, change.key);
    else this.put(change.ns, change.key, change.value);
  }

  /** The state as plain objects (values shared, not copied: postMessage copies them). */
  plain(): PlainState {
    const out: PlainState = {};
    this.state.forEach((keys, ns) => {
      const o: { [key: string]: StateValue } = (out[ns] = {});
      keys.forEach((value, key) => (o[key] = value));
    });
    return out;
  }
}
