/**
 * The widget model's own mirror of the store, kept by the front end (not the page).
 *
 * It starts from the snapshot the kernel put in the model state (`_boot`) and
 * applies every batch the model receives, whether or not a view is shown. So a
 * view that starts (displayed late, or while a cell keeps the kernel busy) gets
 * a snapshot here at once; the kernel's answer to its `hello` follows when the
 * kernel is free (after a page reload `_boot` is old, and that answer corrects
 * it). When the mirror misses a batch, it asks the kernel under an id of its own.
 */

import type { Snapshot, StoreMessage, ViewMessage } from "./protocol";
import { makeViewId } from "./runtime";
import type { StateValue } from "./values";

type State = { [ns: string]: { [key: string]: StateValue } };

export class ModelMirror {
  readonly id = makeViewId();
  private state: State = {};
  private seq = 0;
  private rev = 0;
  private namespaces: string[] | null = null;
  private acks: { [view: string]: number } = {};
  private synced = false;

  constructor(private readonly toKernel: (msg: ViewMessage) => void) {}

  /** Start over from a snapshot (the model's `_boot`, or the answer to our own hello). */
  load(snapshot: Snapshot | null | undefined): void {
    if (!snapshot || snapshot.t !== "snapshot") return;
    this.state = JSON.parse(JSON.stringify(snapshot.state || {}));
    this.seq = snapshot.seq;
    this.rev = snapshot.rev;
    this.namespaces = snapshot.namespaces;
    this.synced = true;
  }

  /** Follow one store -> view message. */
  receive(msg: StoreMessage): void {
    if (msg.t === "snapshot") {
      // Every snapshot of our link is the whole state at its `seq`, whoever asked:
      // one at or past our place also catches up a mirror that missed a batch.
      if (msg.to === this.id || !this.synced || msg.seq >= this.seq) this.load(msg);
      if (msg.to && typeof msg.ack === "number") this.acks[msg.to] = msg.ack;
      return;
    }
    if (msg.t !== "batch" || !this.synced) return;
    if (msg.seq !== this.seq + 1) {
      this.synced = false; // missed a batch: views ask the kernel until we have a snapshot again
      this.toKernel({ t: "hello", view: this.id });
      return;
    }
    this.seq = msg.seq;
    const changes = msg.changes || [];
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i];
      if (c.rev <= this.rev) continue; // the snapshot we started from includes it
      this.rev = c.rev;
      const keys = this.state[c.ns] || (this.state[c.ns] = {});
      if (c.removed) {
        delete keys[c.key];
        if (Object.keys(keys).length === 0) delete this.state[c.ns];
      } else {
        keys[c.key] = c.value;
      }
    }
    const acks = msg.acks || {};
    Object.keys(acks).forEach((view) => (this.acks[view] = acks[view]));
  }

  /** A snapshot for `view`, or null when the kernel must answer (the mirror is behind). */
  snapshotFor(view: string): Snapshot | null {
    if (!this.synced) return null;
    return {
      t: "snapshot",
      to: view,
      seq: this.seq,
      rev: this.rev,
      namespaces: this.namespaces,
      state: this.state, // postMessage copies it
      ack: this.acks[view] || 0,
    };
  }
}

/** The parts of an anywidget model proxy the mirror needs. */
export interface MirrorModel {
  get(name: string): unknown;
  on(name: string, fn: (...args: never[]) => void): void;
  send(msg: ViewMessage): void;
}

const mirrors = new Map<string, ModelMirror>();

/**
 * The one mirror of a widget model, made on first use and fed from then on.
 *
 * Keyed by the model's `_uid` (a synced id made in Python), never by the
 * `model` object: anywidget and marimo hand `initialize` and each `render` a
 * new proxy, so a cache keyed by the proxy would make a fresh mirror from the
 * old `_boot` at every display and show stale state. Returns a function that
 * forgets the mirror (call it when the model goes away).
 */
export function mirrorOf(model: MirrorModel): { mirror: ModelMirror; forget: () => void } {
  const uid = String(model.get("_uid") || "");
  let mirror = uid ? mirrors.get(uid) : undefined;
  if (!mirror) {
    const made = new ModelMirror((msg: ViewMessage) => model.send(msg));
    made.load(model.get("_boot") as Snapshot);
    model.on("change:_boot", () => made.load(model.get("_boot") as Snapshot));
    model.on("msg:custom", (msg: StoreMessage) => made.receive(msg));
    mirror = made;
    if (uid) mirrors.set(uid, made);
  }
  const mine = mirror;
  return {
    mirror: mine,
    forget: () => {
      if (mirrors.get(uid) === mine) mirrors.delete(uid);
    },
  };
}

/** What one display relays: page -> kernel (answering a hello from the mirror) and store -> page. */
export interface ViewRelay {
  fromPage(msg: ViewMessage): void;
  fromStore(msg: StoreMessage): void;
}

/**
 * The relay of one display of a model, apart from any DOM so every host (and
 * the convergence test) runs the same code. A page's `hello` is answered at
 * once from the model's mirror and still goes to the kernel, whose answer
 * follows when it is free and corrects the view if the mirror was behind.
 */
export function relayView(
  mirror: ModelMirror,
  toPage: (msg: StoreMessage) => void,
  toKernel: (msg: ViewMessage) => void,
  onHello: (view: string) => void = () => {},
): ViewRelay {
  return {
    fromPage(msg) {
      if (msg.t === "hello" && typeof msg.view === "string") {
        onHello(msg.view);
        const snapshot = mirror.snapshotFor(msg.view);
        if (snapshot) toPage(snapshot);
      }
      toKernel(msg);
    },
    fromStore: toPage,
  };
}
