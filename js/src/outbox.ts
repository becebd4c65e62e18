/**
 * What a view sends to the store: any message, chunked when large (protocol.ts), and
 * its writes, numbered, each remembered until the store acks it.
 */

import { chunkedSender, type ViewMessage } from "./protocol";
import type { Transport } from "./transport";
import type { StateValue } from "./values";

export interface Outbox {
  send(msg: ViewMessage): void;
  /** Send a `set` and remember it until acked. */
  set(ns: string, key: string, value: StateValue): void;
  /** Send a `remove` and remember it until acked. */
  remove(ns: string, key: string): void;
  /** Whether a write of ours to the key is still ahead of the store (so changes to it are older). */
  isPending(ns: string, key: string): boolean;
  /** The store has every write up to id `ack`: forget them. */
  settle(ack: number): void;
  /** The store refused write `id`: it will never be acked, so stop waiting for it. */
  refused(id: number): void;
  /** Call `fn` with each key that has a write the store has not acked. */
  forEachPending(fn: (ns: string, key: string) => void): void;
}

export function createOutbox(transport: Transport, viewId: string): Outbox {
  let writes = 0;
  // Keys this view wrote whose latest write no ack covers yet -> that write's id.
  // Changes to them are older than the write (the store orders it later): ignored.
  const pending = new Map<string, number>();
  const slot = (ns: string, key: string): string => ns + "\u0000" + key;

  // Chunk ids start with the view id: unique among all views of a link.
  const send = chunkedSender((frame) => transport.send(frame), viewId + ":");

  return {
    send,

    set(ns, key, value) {
      pending.set(slot(ns, key), ++writes);
      send({ t: "set", view: viewId, ns, key, value, id: writes });
    },

    remove(ns, key) {
      pending.set(slot(ns, key), ++writes);
      send({ t: "remove", view: viewId, ns, key, id: writes });
    },

    isPending: (ns, key) => pending.has(slot(ns, key)),

    settle(ack) {
      pending.forEach((id, where) => {
        if (id <= ack) pending.delete(where);
      });
    },

    refused(id) {
      pending.forEach((pendingId, where) => {
        if (pendingId === id) pending.delete(where);
      });
    },

    forEachPending(fn) {
      pending.forEach((_id, where) => {
        const cut = where.indexOf("\u0000");
        fn(where.slice(0, cut), where.slice(cut + 1));
      });
    },
  };
}
