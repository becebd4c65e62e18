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

import { Mirror } from "./mirror";
import type { Snapshot, StoreMessage, ViewMessage } from "./protocol";
import { makeViewId } from "./runtime";

export class ModelMirror {
  readonly id = makeViewId();
  private readonly mirror = new Mirror();
  private acks: { [view: string]: number } = {};
  private synced = false;

  constructor(private readonly toKernel: (msg: ViewMessage) => void) {}

  /** Start over from a snapshot (the model's `_boot`, or the answer to our own hello). */
  load(snapshot: Snapshot | null | undefined): void {
    if (!snapshot || snapshot.t !== "snapshot") return;
    this.mirror.load(JSON.parse(JSON.stringify(snapshot))); // shares nothing with the model's state
    this.synced = true;
  }

  /** Follow one store -> view message. */
  receive(msg: StoreMessage): void {
    if (msg.t === "snapshot") {
      // Every snapshot of our link is the whole state at its `seq`, whoever asked:
      // one at or past our place also catches up a mirror that missed a batch.
      if (msg.to === this.id || !this.synced || msg.seq >= this.mirror.seq) this.load(msg);
      if (msg.to && typeof msg.ack === "number") this.acks[msg.to] = msg.ack;
      return;
    }
    if (msg.t !== "batch" || !this.synced) return;
    if (!this.mirror.follows(msg)) {
      this.synced = false; // missed a batch: views ask the kernel until we have a snapshot again
      this.toKernel({ t: "hello", view: this.id });
      return;
    }
    const changes = msg.changes || [];
    for (let i = 0; i < changes.length; i++) {
      if (this.mirror.newer(changes[i])) this.mirror.apply(changes[i]);
    }
    const acks = msg.acks || {};
    Object.keys(acks).forEach((view) => (this.acks[view] = acks[view]));
  }

  /** A snapshot for `view`, or null when the kernel must answer (the mirror is behind). */
  snapshotFor(view: string): Snapshot | null {
    if (!this.synced) return null;
    const m = this.mirror;
    return {
      t: "snapshot",
      to: view,
      seq: m.seq,
      rev: m.rev,
      namespaces: m.namespaces,
      state: m.plain(), // postMessage copies the values
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

/**
 * What the front end keeps per widget model, whatever proxy a host hands over:
 * its mirror, and whether its kernel/comm is gone (with each display's part to
 * run then: widget.ts draws the banner), so a display made after the fact
 * starts from the live mirror, disconnected if the link went.
 */
export interface ModelRecord {
  readonly mirror: ModelMirror;
  gone: boolean;
  readonly views: Set<() => void>;
}

const records = new Map<string, ModelRecord>();

/**
 * The one record of a widget model, made on first use (its mirror fed from then on).
 *
 * Keyed by the model's `_uid` (a synced id made in Python), never by the
 * `model` object: anywidget and marimo hand `initialize` and each `render` a
 * new proxy, so a cache keyed by the proxy would make a fresh mirror from the
 * old `_boot` at every display and show stale state. Returns a function that
 * forgets the record (call it when the model goes away).
 */
export function recordOf(model: MirrorModel): { record: ModelRecord; forget: () => void } {
  const uid = String(model.get("_uid") || "");
  let record = uid ? records.get(uid) : undefined;
  if (!record) {
    const made = new ModelMirror((msg: ViewMessage) => model.send(msg));
    made.load(model.get("_boot") as Snapshot);
    model.on("change:_boot", () => made.load(model.get("_boot") as Snapshot));
    model.on("msg:custom", (msg: StoreMessage) => made.receive(msg));
    record = { mirror: made, gone: false, views: new Set() };
    if (uid) records.set(uid, record);
  }
  const mine = record;
  return {
    record: mine,
    forget: () => {
      if (records.get(uid) === mine) records.delete(uid);
    },
  };
}

/** The model's mirror (its record's), and the function that forgets the record. */
export function mirrorOf(model: MirrorModel): { mirror: ModelMirror; forget: () => void } {
  const { record, forget } = recordOf(model);
  return { mirror: record.mirror, forget };
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
