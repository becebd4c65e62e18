/**
 * What the page runtime does with each message from the store (docs/protocol.md):
 * a snapshot starts the mirror over, a batch applies its acks then its changes,
 * a gap or a refused write makes the view say `hello` again (and ignore batches
 * until the snapshot that answers it), and the host's `disconnected` ends it all.
 */

import type { Mirror, StateMap } from "./mirror";
import type { Outbox } from "./outbox";
import type { Batch, Change, ErrorMsg, Snapshot, StoreMessage } from "./protocol";
import type { StateEvents } from "./stateevents";
import { equalValues, type StateValue } from "./values";

/** What the host posts when the store behind this view is gone (docs/protocol.md). */
export type Disconnected = { t: "disconnected"; reason?: string };

/** The `detail` of `PytoniumWriteRefused` (dispatched on `window` when the store refuses a write). */
export interface RefusedDetail {
  namespace: string;
  key: string;
  id: number;
  message: string;
}

const GONE = "the kernel restarted or the widget was closed; re-run the cell to reconnect";

export interface InboundParts {
  viewId: string;
  /** The origin of this page's writes as the store names them (the view id, or a served page's client id). */
  ownOrigin: string;
  /** Where `PytoniumReady`, `PytoniumWriteRefused` and `PytoniumDisconnected` go. */
  win: Window;
  warn: (message: string) => void;
  mirror: Mirror;
  outbox: Outbox;
  events: StateEvents;
}

export class Inbound {
  /** Why the view is disconnected (null: connected). */
  gone: string | null = null;
  private awaiting = true; // a hello is out: ignore batches until its snapshot
  private ready = false;

  constructor(private readonly parts: InboundParts) {}

  /** Ask for a snapshot (on every (re)connect, and to recover from a gap or a refusal). */
  hello(): void {
    this.awaiting = true;
    this.parts.outbox.send({ t: "hello", view: this.parts.viewId });
  }

  message(msg: StoreMessage | Disconnected): void {
    if (!msg || typeof msg !== "object") return;
    if (msg.t === "disconnected") this.disconnected(msg);
    else if (msg.t === "snapshot") {
      if (msg.to === this.parts.viewId) this.snapshot(msg);
    } else if (msg.t === "batch") this.batch(msg);
    else if (msg.t === "error") {
      if (msg.to === this.parts.viewId) this.refused(msg);
    }
  }

  private disconnected(msg: Disconnected): void {
    if (this.gone !== null) return;
    this.gone = typeof msg.reason === "string" && msg.reason ? msg.reason : GONE;
    this.parts.win.dispatchEvent(new Event("PytoniumDisconnected"));
  }

  private snapshot(msg: Snapshot): void {
    const { mirror, outbox, events } = this.parts;
    const old = mirror.load(msg);
    // Writes the snapshot does not include yet keep their local value.
    outbox.settle(typeof msg.ack === "number" ? msg.ack : 0);
    outbox.forEachPending((ns, key) => {
      const before = old.get(ns);
      if (before && before.has(key)) mirror.put(ns, key, before.get(key) as StateValue);
      else mirror.drop(ns, key);
    });
    this.awaiting = false;
    snapshotChanges(old, mirror).forEach((c) => events.notify(c[0], c[1], c[2], "snapshot", c[3]));
    if (!this.ready) {
      this.ready = true;
      const win = this.parts.win;
      (win as unknown as { PytoniumReady: boolean }).PytoniumReady = true;
      win.dispatchEvent(new Event("PytoniumReady"));
    }
  }

  private batch(msg: Batch): void {
    if (this.awaiting) return;
    if (!this.parts.mirror.follows(msg)) return this.hello();
    // Acks first: a batch that acks a write carries that write's change or a later one.
    const ack = msg.acks && msg.acks[this.parts.viewId];
    if (typeof ack === "number") this.parts.outbox.settle(ack);
    const changes = msg.changes || [];
    for (let i = 0; i < changes.length; i++) this.change(changes[i]);
  }

  private change(c: Change): void {
    const { mirror, outbox, viewId, ownOrigin } = this.parts;
    if (!mirror.newer(c)) return; // the snapshot this view started from includes it
    if (outbox.isPending(c.ns, c.key)) return; // superseded by a write of ours still on its way
    const removed = c.removed === true;
    const value = removed ? null : c.value;
    if (c.origin === viewId || c.origin === ownOrigin) {
      // Our own write coming back: silent if the mirror still holds it.
      const has = mirror.has(c.ns, c.key);
      const same = removed ? !has : has && equalValues(mirror.get(c.ns, c.key)!, value);
      if (same) return;
    }
    if (removed) mirror.drop(c.ns, c.key);
    else mirror.put(c.ns, c.key, value);
    // Only pages write with a view id (or, served to a class, a client id); every other
    // origin (python, restore, persist, trait:..., resync) is Python's side.
    const fromPage = c.origin.indexOf("view:") === 0 || c.origin.indexOf("client:") === 0;
    this.parts.events.notify(c.ns, c.key, value, fromPage ? "javascript" : "python", removed);
  }

  private refused(msg: ErrorMsg): void {
    this.parts.warn("Pytonium: the store refused write " + msg.id + " (" + msg.ns + "." + msg.key + "): " + msg.message);
    // The refused write will never come back: stop waiting for it, and take the
    // store's value from the snapshot (which may come from a mirror not yet acked).
    this.parts.outbox.refused(msg.id);
    const detail: RefusedDetail = { namespace: msg.ns, key: msg.key, id: msg.id, message: msg.message };
    this.parts.win.dispatchEvent(new CustomEvent("PytoniumWriteRefused", { detail }));
    this.hello();
  }
}

/**
 * What a snapshot changed, as [ns, key, value, removed]: keys whose value changed,
 * then keys that went away. Collected first: a listener may write to the mirror
 * while the caller dispatches.
 */
function snapshotChanges(old: StateMap, mirror: Mirror): Array<[string, string, StateValue, boolean]> {
  const changed: Array<[string, string, StateValue, boolean]> = [];
  mirror.state.forEach((keys, ns) =>
    keys.forEach((value, key) => {
      const before = old.get(ns);
      if (!before || !before.has(key) || !equalValues(before.get(key) as StateValue, value)) {
        changed.push([ns, key, value, false]);
      }
    }),
  );
  old.forEach((keys, ns) =>
    keys.forEach((_value, key) => {
      if (!mirror.has(ns, key)) changed.push([ns, key, null, true]);
    }),
  );
  return changed;
}
