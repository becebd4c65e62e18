/**
 * `window.Pytonium`: the page's API object, with the Python functions bound to it.
 *
 * Pages written for the original Pytonium test for an API before using it
 * (`if (Pytonium.shell) ...`), so a name nobody bound is `undefined`, with a
 * console warning the first time the page reads it (`calls.member`). Bound
 * functions and objects (`Pytonium.myapi.fn()`) come from the store's list of
 * bound functions, which may change while the page runs.
 */

import type { Calls } from "./calls";

/** Names promise and JSON machinery, frameworks and devtools probe: undefined, without a warning. */
const QUIET = ["then", "toJSON", "constructor", "valueOf", "toString", "inspect", "nodeType", "length", "$$typeof"];

export function withBoundFunctions<T extends object>(api: T, calls: Calls): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      if (typeof prop === "symbol" || prop in target) return Reflect.get(target, prop, receiver);
      if (QUIET.indexOf(prop) >= 0) return calls.has(prop) ? calls.member(prop) : undefined;
      return calls.member(prop);
    },
    has(target, prop) {
      return prop in target || (typeof prop === "string" && calls.has(prop));
    },
  });
}
