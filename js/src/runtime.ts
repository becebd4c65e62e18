/**
 * `Pytonium.appState`: a mirror of the store's state, kept in step by the protocol.
 *
 * Writes apply to the mirror at once (so getState after setState sees them) and go
 * to the store, whose order is final: every batch is applied by every view, so all
 * views converge. Events are DOM CustomEvents dispatched on `document` with
 * `bubbles: true`, so listeners on `document` and on `window` both receive them.
 *
 * When the host says the store is gone (`{"t":"disconnected"}`: the notebook's
 * kernel restarted or the widget's comm closed), `appState.disconnected` turns
 * true and `PytoniumDisconnected` is dispatched on `window`; from then on
 * setState/removeState log a console error naming `namespace.key` and throw,
 * leaving the mirror unchanged.
 *
 * createAppState wires the parts: mirror.ts (the state and its place in the stream),
 * stateevents.ts (the events the page hears), outbox.ts (what goes to the store and
 * the writes not yet acked), inbound.ts (what comes from it); pageApi is the methods.
 */

import { Inbound } from "./inbound";
import { Mirror } from "./mirror";
import { createOutbox, type Outbox } from "./outbox";
import { createStateEvents, type StateEvents } from "./stateevents";
import type { Transport } from "./transport";
import { checkName, cleanValue, copyValue, describe, type StateValue } from "./values";

export type { Disconnected, RefusedDetail } from "./inbound";
export type { Origin, StateEventDetail } from "./stateevents";

export interface AppState {
  readonly viewId: string;
  /** True once the host said nothing listens any more (the page then refuses writes). */
  readonly disconnected: boolean;
  setState(namespace: string, key: string, value: unknown): void;
  getState(namespace: string, key: string): StateValue;
  removeState(namespace: string, key: string): void;
  registerForStateUpdates(
    eventName: string,
    namespaces: string[],
    fromJavascript: boolean,
    fromPython: boolean,
  ): () => void;
}

export interface RuntimeOptions {
  /** The view id; made at random by default. */
  viewId?: string;
  /** Where state events are dispatched (default `document`). */
  target?: EventTarget;
  /** Where `PytoniumReady` is set and dispatched (default `window`). */
  win?: Window;
  /** Runs a function after the current task (default `setTimeout(fn, 0)`). */
  defer?: (fn: () => void) => void;
  /** Reports refused writes (default `console.warn`). */
  warn?: (message: string) => void;
  /** Reports writes refused because the view is disconnected (default `console.error`). */
  error?: (message: string) => void;
  /**
   * The origin the store gives this page's writes when it is not the view id (a served
   * page's `client:<id>`, see docs/classroom.md): changes with it are this page's own echo.
   */
  origin?: string;
}

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** "view:" plus 24 random letters/digits. */
export function makeViewId(): string {
  const bytes = new Uint8Array(24);
  const c = typeof crypto !== "undefined" ? crypto : undefined;
  if (c && c.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let id = "view:";
  for (let i = 0; i < bytes.length; i++) id += ALPHANUM.charAt(bytes[i] % ALPHANUM.length);
  return id;
}

export function createAppState(transport: Transport, options: RuntimeOptions = {}): AppState {
  const viewId = options.viewId || makeViewId();
  const defer = options.defer || ((fn: () => void) => void setTimeout(fn, 0));
  const mirror = new Mirror(); // the state, the view's namespaces, its place in the stream (mirror.ts)
  const events = createStateEvents(options.target || document, defer, mirror);
  const outbox = createOutbox(transport, viewId);
  const inbound = new Inbound({
    viewId,
    ownOrigin: options.origin || viewId,
    win: options.win || window,
    warn: options.warn || ((m: string) => console.warn(m)),
    mirror,
    outbox,
    events,
  });
  const error = options.error || ((m: string) => console.error(m));
  const appState = pageApi({ viewId, mirror, outbox, events, inbound, error });
  transport.connect({ message: (msg) => inbound.message(msg), open: () => inbound.hello() });
  return appState;
}

/** The methods a page calls: check, change the mirror at once, send, fire the page's own events. */
function pageApi(parts: {
  viewId: string;
  mirror: Mirror;
  outbox: Outbox;
  events: StateEvents;
  inbound: Inbound;
  error: (message: string) => void;
}): AppState {
  const { mirror, outbox, events, inbound, error } = parts;
  return {
    viewId: parts.viewId,

    get disconnected(): boolean {
      return inbound.gone !== null;
    },

    setState(namespace: string, key: string, value: unknown): void {
      checkArgs("setState", namespace, key, mirror.namespaces);
      refuseWhenGone("setState", namespace, key, inbound.gone, error);
      const clean = cleanValue(namespace, key, value);
      mirror.put(namespace, key, clean);
      outbox.set(namespace, key, clean);
      events.notify(namespace, key, clean, "javascript", false);
    },

    getState(namespace: string, key: string): StateValue {
      checkArgs("getState", namespace, key, null);
      return mirror.has(namespace, key) ? copyValue(mirror.get(namespace, key) as StateValue) : null;
    },

    removeState(namespace: string, key: string): void {
      checkArgs("removeState", namespace, key, mirror.namespaces);
      refuseWhenGone("removeState", namespace, key, inbound.gone, error);
      const had = mirror.drop(namespace, key);
      outbox.remove(namespace, key);
      if (had) events.notify(namespace, key, null, "javascript", true);
    },

    registerForStateUpdates: events.register,
  };
}

/** Names must be names; a write must go to a namespace the view sees (`writable`; null: all). */
function checkArgs(what: string, ns: unknown, key: unknown, writable: string[] | null): void {
  checkName(what, "namespace", ns);
  checkName(what, "key", key);
  if (writable !== null && writable.indexOf(ns as string) < 0) {
    throw new TypeError(
      what + ": namespace " + describe(ns) + " is not visible to this view (it may write only to " +
        writable.map(describe).join(", ") + ")",
    );
  }
}

/** A write while disconnected (`gone`: why): say so in the console and throw; nothing changes. */
function refuseWhenGone(what: string, ns: string, key: string, gone: string | null, error: (m: string) => void): void {
  if (gone === null) return;
  const message =
    "Pytonium: " + what + "(" + ns + "." + key + ") refused: this view is disconnected from its store (" +
    gone + "); the page's state is unchanged";
  error(message);
  throw new Error(message);
}
