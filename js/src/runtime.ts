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
 */

import { Mirror } from "./mirror";
import { createOutbox } from "./outbox";
import type { Change, StoreMessage } from "./protocol";
import { createStateEvents } from "./stateevents";
import type { Transport } from "./transport";
import { checkName, cleanValue, copyValue, describe, equalValues, type StateValue } from "./values";

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

/** The `detail` of `PytoniumWriteRefused` (dispatched on `window` when the store refuses a write). */
export interface RefusedDetail {
  namespace: string;
  key: string;
  id: number;
  message: string;
}

/** What the host posts when the store behind this view is gone (docs/protocol.md). */
export type Disconnected = { t: "disconnected"; reason?: string };

const GONE = "the kernel restarted or the widget was closed; re-run the cell to reconnect";

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
  const target: EventTarget = options.target || document;
  const win: Window = options.win || window;
  const defer = options.defer || ((fn: () => void) => void setTimeout(fn, 0));
  const warn = options.warn || ((m: string) => console.warn(m));
  const error = options.error || ((m: string) => console.error(m));
  const ownOrigin = options.origin || viewId;

  const mirror = new Mirror(); // the state, the view's namespaces, its place in the stream (mirror.ts)
  let awaiting = true; // a hello is out: ignore batches until its snapshot
  let ready = false;
  let gone: string | null = null; // why the view is disconnected (null: connected)
  const events = createStateEvents(target, defer, mirror);
  const notify = events.notify;
  const outbox = createOutbox(transport, viewId);

  function hello(): void {
    awaiting = true;
    outbox.send({ t: "hello", view: viewId });
  }

  const has = (ns: string, key: string): boolean => mirror.has(ns, key);
  const put = (ns: string, key: string, value: StateValue): void => mirror.put(ns, key, value);
  const drop = (ns: string, key: string): boolean => mirror.drop(ns, key);

  function checkArgs(what: string, ns: unknown, key: unknown, write: boolean): void {
    checkName(what, "namespace", ns);
    checkName(what, "key", key);
    const filter = mirror.namespaces;
    if (write && filter !== null && filter.indexOf(ns as string) < 0) {
      throw new TypeError(
        what + ": namespace " + describe(ns) + " is not visible to this view (it may write only to " +
          filter.map(describe).join(", ") + ")",
      );
    }
  }

  /** A write while disconnected: say so in the console and throw; nothing changes. */
  function refuseWhenGone(what: string, ns: string, key: string): void {
    if (gone === null) return;
    const message =
      "Pytonium: " + what + "(" + ns + "." + key + ") refused: this view is disconnected from its store (" +
      gone + "); the page's state is unchanged";
    error(message);
    throw new Error(message);
  }

  function onDisconnected(msg: Disconnected): void {
    if (gone !== null) return;
    gone = typeof msg.reason === "string" && msg.reason ? msg.reason : GONE;
    win.dispatchEvent(new Event("PytoniumDisconnected"));
  }

  function onSnapshot(msg: Extract<StoreMessage, { t: "snapshot" }>): void {
    const old = mirror.load(msg);
    const next = mirror.state;
    // Writes the snapshot does not include yet keep their local value.
    outbox.settle(typeof msg.ack === "number" ? msg.ack : 0);
    outbox.forEachPending((ns, key) => {
      const before = old.get(ns);
      if (before && before.has(key)) put(ns, key, before.get(key) as StateValue);
      else drop(ns, key);
    });
    awaiting = false;
    // Keys whose value changed fire events (origin "snapshot"), then keys that went away.
    // Collected first: a listener may write to the mirror while we dispatch.
    const changed: Array<[string, string, StateValue, boolean]> = [];
    next.forEach((keys, ns) =>
      keys.forEach((value, key) => {
        const before = old.get(ns);
        if (!before || !before.has(key) || !equalValues(before.get(key) as StateValue, value)) {
          changed.push([ns, key, value, false]);
        }
      }),
    );
    old.forEach((keys, ns) =>
      keys.forEach((_value, key) => {
        if (!has(ns, key)) changed.push([ns, key, null, true]);
      }),
    );
    changed.forEach((c) => notify(c[0], c[1], c[2], "snapshot", c[3]));
    if (!ready) {
      ready = true;
      (win as unknown as { PytoniumReady: boolean }).PytoniumReady = true;
      win.dispatchEvent(new Event("PytoniumReady"));
    }
  }

  function onChange(c: Change): void {
    if (!mirror.newer(c)) return; // the snapshot this view started from includes it
    if (outbox.isPending(c.ns, c.key)) return; // superseded by a write of ours still on its way
    const removed = c.removed === true;
    const value = removed ? null : c.value;
    if (c.origin === viewId || c.origin === ownOrigin) {
      // Our own write coming back: silent if the mirror still holds it.
      const same = removed ? !has(c.ns, c.key) : has(c.ns, c.key) && equalValues(mirror.get(c.ns, c.key)!, value);
      if (same) return;
    }
    if (removed) drop(c.ns, c.key);
    else put(c.ns, c.key, value);
    // Only pages write with a view id (or, served to a class, a client id); every other
    // origin (python, restore, persist, trait:..., resync) is Python's side.
    const fromPage = c.origin.indexOf("view:") === 0 || c.origin.indexOf("client:") === 0;
    notify(c.ns, c.key, value, fromPage ? "javascript" : "python", removed);
  }

  function onMessage(msg: StoreMessage | Disconnected): void {
    if (!msg || typeof msg !== "object") return;
    if (msg.t === "disconnected") {
      onDisconnected(msg);
    } else if (msg.t === "snapshot") {
      if (msg.to === viewId) onSnapshot(msg);
    } else if (msg.t === "batch") {
      if (awaiting) return;
      if (!mirror.follows(msg)) return hello();
      // Acks first: a batch that acks a write carries that write's change or a later one.
      const ack = msg.acks && msg.acks[viewId];
      if (typeof ack === "number") outbox.settle(ack);
      const changes = msg.changes || [];
      for (let i = 0; i < changes.length; i++) onChange(changes[i]);
    } else if (msg.t === "error") {
      if (msg.to !== viewId) return;
      warn("Pytonium: the store refused write " + msg.id + " (" + msg.ns + "." + msg.key + "): " + msg.message);
      // The refused write will never come back: stop waiting for it, and take the
      // store's value from the snapshot (which may come from a mirror not yet acked).
      outbox.refused(msg.id);
      const detail: RefusedDetail = { namespace: msg.ns, key: msg.key, id: msg.id, message: msg.message };
      win.dispatchEvent(new CustomEvent("PytoniumWriteRefused", { detail }));
      hello();
    }
  }

  const appState: AppState = {
    viewId,

    get disconnected(): boolean {
      return gone !== null;
    },

    setState(namespace: string, key: string, value: unknown): void {
      checkArgs("setState", namespace, key, true);
      refuseWhenGone("setState", namespace, key);
      const clean = cleanValue(namespace, key, value);
      put(namespace, key, clean);
      outbox.set(namespace, key, clean);
      notify(namespace, key, clean, "javascript", false);
    },

    getState(namespace: string, key: string): StateValue {
      checkArgs("getState", namespace, key, false);
      return has(namespace, key) ? copyValue(mirror.get(namespace, key) as StateValue) : null;
    },

    removeState(namespace: string, key: string): void {
      checkArgs("removeState", namespace, key, true);
      refuseWhenGone("removeState", namespace, key);
      const had = drop(namespace, key);
      outbox.remove(namespace, key);
      if (had) notify(namespace, key, null, "javascript", true);
    },

    registerForStateUpdates: events.register,
  };

  transport.connect({ message: onMessage, open: hello });
  return appState;
}
