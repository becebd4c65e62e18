/**
 * The notebook channel: the page runs in a sandboxed iframe and talks to the
 * widget front end (its parent) with postMessage. Only messages from the parent
 * that carry a `pytonium` field are taken.
 */

import type { StoreMessage } from "../protocol";
import type { Transport } from "../transport";

export function postMessageTransport(win: Window = window): Transport {
  return {
    connect(handlers) {
      win.addEventListener("message", (event: MessageEvent) => {
        if (event.source !== win.parent) return;
        const data = event.data;
        if (data === null || typeof data !== "object" || !("pytonium" in data)) return;
        handlers.message(data.pytonium as StoreMessage);
      });
      handlers.open();
    },
    send(frame) {
      // The iframe's origin is opaque ("null"), so no narrower target origin exists.
      win.parent.postMessage({ pytonium: frame.msg }, "*");
    },
  };
}
