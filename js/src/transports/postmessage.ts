/**
 * The notebook channel: the page runs in a sandboxed iframe and talks to the
 * widget front end (its parent) over a MessageChannel of their own.
 *
 * The page makes the channel when its runtime connects and hands one port to
 * its parent in a single `postMessage`; every message after that, both ways,
 * goes over the ports. Browsers that put sandboxed iframes in a process of
 * their own (Chromium does) carry a window's `postMessage` through the browser
 * process, and a port's message straight between the two: measured in
 * headless Chromium, 0.5 ms against 0.2 ms per round trip, and about 4 ms off a
 * call in a busy JupyterLab (bench/calls.py). The port is private to the page
 * and its parent, so only the offer needs checking (widget.ts: it must come from
 * the view's own iframe).
 */

import type { StoreMessage } from "../protocol";
import type { Transport } from "../transport";

/** The field of the page's one window message: the offer of its port. */
export const PORT_OFFER = "pytoniumPort";

/** The port `event` offers, when it is the offer of the page in `frame` (else null). */
export function offeredPort(event: MessageEvent, frame: Window | null): MessagePort | null {
  if (frame === null || event.source !== frame) return null;
  const data = event.data as Record<string, unknown> | null;
  if (data === null || typeof data !== "object" || data[PORT_OFFER] !== 1) return null;
  const ports = event.ports;
  return ports && ports.length === 1 ? ports[0] : null;
}

export function postMessageTransport(win: Window = window, channel: () => MessageChannel = () => new MessageChannel()): Transport {
  let port: MessagePort | null = null;
  return {
    connect(handlers) {
      const made = channel();
      port = made.port1;
      port.onmessage = (event: MessageEvent) => handlers.message(event.data as StoreMessage);
      win.parent.postMessage({ [PORT_OFFER]: 1 }, "*", [made.port2]); // the iframe's origin is opaque: no narrower target
      handlers.open();
    },
    send(frame) {
      if (port !== null) port.postMessage(frame.msg);
    },
  };
}
