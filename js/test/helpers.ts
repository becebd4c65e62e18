import type { StoreMessage, ViewMessage } from "../src/protocol";
import { createAppState, type RuntimeOptions, type StateEventDetail } from "../src/runtime";
import type { Transport, TransportHandlers } from "../src/transport";

/** A transport that records what the runtime sends and lets a test play the store. */
export function fakeTransport() {
  let handlers: TransportHandlers | null = null;
  const sent: ViewMessage[] = [];
  const transport: Transport = {
    connect(h) {
      handlers = h;
      h.open();
    },
    send(frame) {
      // What goes on the wire is JSON: keep what the store would parse.
      sent.push(JSON.parse(frame.json));
    },
  };
  return {
    transport,
    sent,
    push(msg: StoreMessage | Record<string, unknown>) {
      handlers!.message(msg as StoreMessage);
    },
    reopen() {
      handlers!.open();
    },
  };
}

export const ME = "view:me";

/** A runtime with view id ME over a fake transport. */
export function setup(options: RuntimeOptions = {}) {
  const fake = fakeTransport();
  const appState = createAppState(fake.transport, { viewId: ME, ...options });
  return { appState, ...fake };
}

export function snapshot(seq: number, state: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return { t: "snapshot", to: ME, seq, rev: seq, namespaces: null, state, ...extra };
}

let revision = 1000;

/** A change as the store sends it; each one gets the next store revision (above any test snapshot's). */
export function change(ns: string, key: string, value: unknown, origin = "python", removed = false) {
  return { ns, key, value: removed ? null : value, removed, origin, rev: ++revision };
}

const cleanups: Array<() => void> = [];

/** Record the details of `eventName` events heard on `where` (window by default). */
export function listen(eventName: string, where: EventTarget = window): StateEventDetail[] {
  const seen: StateEventDetail[] = [];
  const fn = (e: Event) => seen.push((e as CustomEvent<StateEventDetail>).detail);
  where.addEventListener(eventName, fn);
  cleanups.push(() => where.removeEventListener(eventName, fn));
  return seen;
}

export function removeListeners(): void {
  while (cleanups.length) cleanups.pop()!();
  delete (window as { PytoniumReady?: boolean }).PytoniumReady;
}

/** Wait until timers queued so far (setTimeout 0) have run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
