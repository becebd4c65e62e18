/**
 * The state-change events a page hears: `registerForStateUpdates` registrations,
 * and the CustomEvents dispatched for them when a key changes (runtime.ts).
 */

import type { Mirror } from "./mirror";
import { checkName, copyValue, describe, type StateValue } from "./values";

export type Origin = "python" | "javascript" | "snapshot";

export interface StateEventDetail {
  namespace: string;
  key: string;
  value: StateValue;
  origin: Origin;
  removed: boolean;
}

type Registration = {
  eventName: string;
  namespaces: string[];
  fromJavascript: boolean;
  fromPython: boolean;
  count: number;
};

export interface StateEvents {
  /** A key changed: fire each matching event name once, however many registrations match it. */
  notify(ns: string, key: string, value: StateValue, origin: Origin, removed: boolean): void;
  /** `registerForStateUpdates`; returns its unregister function. */
  register(eventName: string, namespaces: string[], fromJavascript: boolean, fromPython: boolean): () => void;
}

/**
 * Events go to `target` with `bubbles: true` (so `document` and `window` listeners both
 * hear them); `defer` runs a new registration's first delivery of what `mirror` holds.
 */
export function createStateEvents(target: EventTarget, defer: (fn: () => void) => void, mirror: Mirror): StateEvents {
  const registrations = new Map<string, Registration>();

  function fire(eventName: string, ns: string, key: string, value: StateValue, origin: Origin, removed: boolean): void {
    // A copy each: a listener that edits its detail must not edit the mirror.
    const detail: StateEventDetail = { namespace: ns, key, value: copyValue(value), origin, removed };
    target.dispatchEvent(new CustomEvent(eventName, { detail, bubbles: true }));
  }

  function notify(ns: string, key: string, value: StateValue, origin: Origin, removed: boolean): void {
    const fromJs = origin === "javascript";
    const names: string[] = [];
    registrations.forEach((r) => {
      if ((fromJs ? r.fromJavascript : r.fromPython) && r.namespaces.indexOf(ns) >= 0 && names.indexOf(r.eventName) < 0) {
        names.push(r.eventName);
      }
    });
    for (let i = 0; i < names.length; i++) fire(names[i], ns, key, value, origin, removed);
  }

  /** Deliver the values already here, after the current task, so a listener added
   * right after registering receives them (the spec's Settings Panel). */
  function deliverCurrent(id: string, r: Registration): void {
    defer(() => {
      if (registrations.get(id) !== r) return; // unregistered meanwhile
      // Collected first: a listener may write to the mirror while we dispatch.
      const now: Array<[string, string, StateValue]> = [];
      r.namespaces.forEach((ns) => {
        const keys = mirror.state.get(ns);
        if (keys) keys.forEach((value, key) => now.push([ns, key, value]));
      });
      now.forEach((c) => fire(r.eventName, c[0], c[1], c[2], "snapshot", false));
    });
  }

  function register(eventName: string, namespaces: string[], fromJavascript: boolean, fromPython: boolean): () => void {
    checkRegistration(eventName, namespaces, fromJavascript, fromPython);
    const sorted = namespaces.filter((ns, i) => namespaces.indexOf(ns) === i).sort();
    const id = JSON.stringify([eventName, sorted, fromJavascript, fromPython]);
    let reg = registrations.get(id);
    if (reg) {
      reg.count++; // the same registration again: no second stream of events
    } else {
      reg = { eventName, namespaces: sorted, fromJavascript, fromPython, count: 1 };
      registrations.set(id, reg);
      if (fromPython) deliverCurrent(id, reg);
    }
    const mine = reg;
    let done = false;
    return function unregister(): void {
      if (done) return;
      done = true;
      if (--mine.count === 0 && registrations.get(id) === mine) registrations.delete(id);
    };
  }

  return { notify, register };
}

/** Throw a TypeError naming the first bad argument of `registerForStateUpdates`. */
function checkRegistration(eventName: unknown, namespaces: unknown, fromJavascript: unknown, fromPython: unknown): void {
  const what = "registerForStateUpdates";
  if (typeof eventName !== "string" || eventName === "") {
    throw new TypeError(what + ": eventName must be a non-empty string, got " + describe(eventName));
  }
  if (!Array.isArray(namespaces) || namespaces.length === 0) {
    throw new TypeError(what + ": namespaces must be a non-empty array of strings, got " + describe(namespaces));
  }
  namespaces.forEach((ns) => checkName(what, "namespace", ns));
  if (typeof fromJavascript !== "boolean" || typeof fromPython !== "boolean") {
    throw new TypeError(
      what + ": fromJavascript and fromPython must be booleans, got " +
        describe(fromJavascript) + " and " + describe(fromPython),
    );
  }
}
