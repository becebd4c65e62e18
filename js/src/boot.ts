/**
 * Start the runtime in a page: read `window.__PYTONIUM_CONFIG__`, pick the
 * transport and install `window.Pytonium.appState` synchronously, so page scripts
 * that run after the runtime's inline script find it.
 */

import { createCalls, type Calls } from "./calls";
import { reportPageLog } from "./pagelog";
import { chunkedSender, type BoundFunction, type StoreMessage, type ViewMessage } from "./protocol";
import { createAppState, makeViewId, type AppState } from "./runtime";
import type { Transport } from "./transport";
import { postMessageTransport } from "./transports/postmessage";
import { webSocketTransport } from "./transports/websocket";
import { withBoundFunctions } from "./pytoniumobject";

export interface PytoniumConfig {
  transport?: "postMessage" | "websocket";
  url?: string;
  token?: string;
  /** The functions bound when the page was served (docs/protocol.md, "Calls"). */
  functions?: BoundFunction[];
  /** The origin the store gives this page's writes, when not its view id (a served page's `client:<id>`). */
  origin?: string;
}

type PageWindow = Window & {
  __PYTONIUM_CONFIG__?: PytoniumConfig;
  Pytonium?: { appState: AppState };
  PytoniumReady?: boolean;
};

/** A transport that goes nowhere: the page keeps a local mirror and never becomes ready. */
const offline: Transport = { connect() {}, send() {} };

/** The WebSocket URL: config.url (absolute or relative to the page) plus the token. */
export function socketUrl(win: Window, config: PytoniumConfig): string {
  const url = new URL(config.url || "/_pytonium/ws", win.location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (config.token && !url.searchParams.has("token")) url.searchParams.set("token", config.token);
  return url.toString();
}

function pickTransport(win: PageWindow): Transport {
  const config = win.__PYTONIUM_CONFIG__;
  if (!config || typeof config !== "object") {
    console.error(
      "Pytonium: window.__PYTONIUM_CONFIG__ is not set, so this page is not connected to a " +
        "StateStore; Pytonium.appState keeps its state locally and PytoniumReady never fires.",
    );
    return offline;
  }
  if (config.transport === "postMessage") {
    if (win.parent === win) console.error("Pytonium: transport postMessage needs the page to run in a frame.");
    return postMessageTransport(win);
  }
  if (config.transport === "websocket") {
    return webSocketTransport(socketUrl(win, config), { WebSocket: (win as typeof window).WebSocket });
  }
  console.error(
    'Pytonium: window.__PYTONIUM_CONFIG__.transport must be "postMessage" or "websocket", got ' +
      JSON.stringify(config.transport) + "; Pytonium.appState keeps its state locally.",
  );
  return offline;
}

/** `reload` (the page's files changed on disk) is the transport's business, not the state's. */
function withReload(transport: Transport, win: Window): Transport {
  return {
    connect(handlers) {
      transport.connect({
        open: () => handlers.open(),
        closed: () => handlers.closed && handlers.closed(),
        message: (msg) => (msg && msg.t === "reload" ? win.location.reload() : handlers.message(msg)),
      });
    },
    send: (frame) => transport.send(frame),
  };
}

/** Messages about calls go to `calls`; the rest to the state runtime. A lost channel fails calls in flight. */
function withCalls(transport: Transport, calls: Calls): Transport {
  return {
    connect(handlers) {
      transport.connect({
        open: () => handlers.open(),
        closed: () => calls.closed(),
        message: (msg) => {
          const kind = (msg as { t?: unknown }).t;
          if (kind === "disconnected") calls.disconnected(String((msg as { reason?: unknown }).reason || "the store is gone"));
          if (!calls.receive(msg as StoreMessage)) handlers.message(msg);
        },
      });
    },
    send: (frame) => transport.send(frame),
  };
}

export function boot(win: PageWindow): void {
  if (win.Pytonium && win.Pytonium.appState) return; // the runtime was injected twice
  let transport: Transport;
  try {
    transport = pickTransport(win);
  } catch (err) {
    console.error("Pytonium: cannot start the transport: " + String(err));
    transport = offline;
  }
  const viewId = makeViewId();
  const config = win.__PYTONIUM_CONFIG__;
  const origin = config && typeof config.origin === "string" ? config.origin : undefined;
  const calls = createCalls({
    viewId,
    send: chunkedSender((frame) => transport.send(frame), viewId + ":c"), // ids apart from the outbox's
    functions: config && Array.isArray(config.functions) ? config.functions : [],
  });
  const appState = createAppState(withCalls(withReload(transport, win), calls), {
    viewId,
    win,
    target: win.document,
    origin,
  });
  win.Pytonium = withBoundFunctions(
    { appState, callFunction: calls.callFunction, callOptions: calls.callOptions },
    calls,
  );
  reportPageLog(win, (entry) => {
    const msg: ViewMessage = { t: "log", view: appState.viewId, ...entry };
    transport.send({ msg, json: JSON.stringify(msg) });
  });
}
