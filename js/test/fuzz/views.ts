/**
 * The front-end half of the convergence test (tests/model/test_convergence.py).
 *
 * Runs the real runtime (`createAppState`) and the real widget front end
 * (`mirrorOf`, `relayView`: the code `render` wires to an iframe) for many
 * models and displays, under the control of the Python test, which owns every
 * message in flight: it reads one JSON command per line on stdin and answers
 * one JSON line with what the command made the JS send, so it can deliver,
 * hold, drop or reorder each message as it likes.
 *
 * Commands: model, display, undisplay, reload, rehello, to_front, to_page, set,
 * remove, state. Outputs: `{to: "kernel", m, msg}` and `{to: "page", v, msg}`.
 */

import * as readline from "node:readline";
import type { StoreMessage, ViewMessage } from "../../src/protocol";
import { mirrorOf, relayView, type MirrorModel, type ViewRelay } from "../../src/relay";
import { createAppState, type AppState, type StateEventDetail } from "../../src/runtime";
import type { TransportHandlers } from "../../src/transport";

type Out = { to: "kernel"; m: string; msg: ViewMessage } | { to: "page"; v: string; msg: StoreMessage };
type Listener = (...args: never[]) => void;

/** A widget model as the host keeps it; each `proxy()` is what anywidget hands one call. */
class Model {
  values: Record<string, unknown>;
  listeners = new Map<string, Listener[]>();
  constructor(readonly id: string, uid: string, boot: unknown) {
    this.values = { _uid: uid, _boot: boot };
  }
  proxy(): MirrorModel {
    return {
      get: (name) => this.values[name],
      on: (name, fn) => this.listeners.set(name, (this.listeners.get(name) || []).concat([fn as Listener])),
      send: (msg) => out.push({ to: "kernel", m: this.id, msg: JSON.parse(JSON.stringify(msg)) }),
    };
  }
  emit(name: string, arg: unknown): void {
    (this.listeners.get(name) || []).slice().forEach((fn) => (fn as (a: unknown) => void)(arg));
  }
}

/** One display: a page runtime behind a relay. `shadow` is the state as told by its events. */
class Display {
  relay!: ViewRelay;
  handlers: TransportHandlers | null = null;
  app!: AppState;
  shadow = new Map<string, unknown>();
  events = 0;
  constructor(readonly id: string, readonly model: Model) {
    this.relay = relayView(
      mirrorOf(model.proxy()).mirror,
      (msg) => out.push({ to: "page", v: this.id, msg: JSON.parse(JSON.stringify(msg)) }),
      (msg) => model.proxy().send(msg),
    );
    this.boot();
  }
  /** (Re)load the page: a fresh runtime with a new view id. */
  boot(): void {
    this.shadow = new Map();
    const target = new EventTarget();
    const win = new EventTarget() as unknown as Window;
    const transport = {
      connect: (h: TransportHandlers) => {
        this.handlers = h;
        h.open();
      },
      send: (frame: { msg: ViewMessage }) => this.relay.fromPage(JSON.parse(JSON.stringify(frame.msg))),
    };
    this.app = createAppState(transport, { target, win, defer: (fn) => deferred.push(fn), warn: () => {} });
    target.addEventListener("fz", (e) => {
      const d = (e as CustomEvent<StateEventDetail>).detail;
      const where = d.namespace + "." + d.key;
      if (d.removed) this.shadow.delete(where);
      else this.shadow.set(where, d.value);
      this.events++;
    });
    this.app.registerForStateUpdates("fz", namespaces, true, true);
  }
}

let out: Out[] = [];
let deferred: Array<() => void> = [];
let namespaces: string[] = [];
let keys: string[] = [];
const models = new Map<string, Model>();
const forgets: Array<() => void> = [];
const displays = new Map<string, Display>();

function runDeferred(): void {
  while (deferred.length) deferred.shift()!();
}

/** What a display shows: getState of every known key (missing keys read as null). */
function shown(d: Display): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  namespaces.forEach((ns) =>
    keys.forEach((key) => {
      const value = d.app.getState(ns, key);
      if (value !== null) state[ns + "." + key] = value;
    }),
  );
  return state;
}

type Command = { op: string; [field: string]: any };

function run(c: Command): unknown {
  switch (c.op) {
    case "init":
      namespaces = c.namespaces;
      keys = c.keys;
      return null;
    case "model": {
      const model = new Model(c.m, c.uid, c.boot);
      models.set(c.m, model);
      forgets.push(mirrorOf(model.proxy()).forget); // anywidget's initialize
      return null;
    }
    case "reset": {
      while (forgets.length) forgets.pop()!();
      models.clear();
      displays.clear();
      return null;
    }
    case "display":
      displays.set(c.v, new Display(c.v, models.get(c.m)!));
      return null;
    case "undisplay":
      displays.delete(c.v);
      return null;
    case "reload":
      displays.get(c.v)!.boot();
      return null;
    case "rehello":
      displays.get(c.v)!.handlers!.open(); // a transport that reconnects says hello again
      return null;
    case "to_front": {
      const model = models.get(c.m)!;
      model.emit("msg:custom", c.msg); // the mirror first (it listened first), then each display
      displays.forEach((d) => {
        if (d.model === model) d.relay.fromStore(JSON.parse(JSON.stringify(c.msg)));
      });
      return null;
    }
    case "to_page": {
      const d = displays.get(c.v);
      if (d && d.handlers) d.handlers.message(c.msg);
      return null;
    }
    case "set":
    case "remove": {
      const d = displays.get(c.v)!;
      try {
        if (c.op === "set") d.app.setState(c.ns, c.key, c.value);
        else d.app.removeState(c.ns, c.key);
        return "ok";
      } catch (err) {
        return "refused: " + String(err);
      }
    }
    case "state": {
      const d = displays.get(c.v)!;
      const shadow: Record<string, unknown> = {};
      d.shadow.forEach((value, where) => (shadow[where] = value));
      return { shown: shown(d), events: shadow, view: d.app.viewId };
    }
    case "mirror": {
      const snap = mirrorOf(models.get(c.m)!.proxy()).mirror.snapshotFor("view:probe");
      return snap ? snap.state : null;
    }
    default:
      throw new Error("unknown command " + c.op);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  out = [];
  let result: unknown;
  let error: string | null = null;
  try {
    result = run(JSON.parse(line));
    runDeferred();
  } catch (err) {
    error = String(err && (err as Error).stack ? (err as Error).stack : err);
  }
  process.stdout.write(JSON.stringify({ out, result, error }) + "\n");
});
