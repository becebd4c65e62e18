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
      if (msg.to === this.id) this.load(msg);
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
      const keys = this.state[c.ns] || (this.state[c.ns] = {});
      if (c.removed) {
        delete keys[c.key];
        if (Object.keys(keys).length === 0) delete this.state[c.ns];
      } else {
        keys[c.key] = c.value;
      }
      if (c.rev > this.rev) this.rev = c.rev;
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
