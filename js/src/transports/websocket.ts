/**
 * The desktop channel: one WebSocket to the loopback server. Frames are JSON text.
 * While (re)connecting, outgoing frames wait in a queue; every open flushes the
 * queue and lets the runtime say `hello` (a reconnect may have lost batches).
 * Reconnects back off from `minDelay` doubling up to `maxDelay`.
 */

import type { StoreMessage } from "../protocol";
import type { Transport, TransportHandlers } from "../transport";

export interface WebSocketOptions {
  WebSocket?: { new (url: string): WebSocket };
  setTimeout?: (fn: () => void, ms: number) => unknown;
  minDelay?: number;
  maxDelay?: number;
}

export function webSocketTransport(url: string, options: WebSocketOptions = {}): Transport {
  const Socket = options.WebSocket || WebSocket;
  const later = options.setTimeout || ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const minDelay = options.minDelay || 100;
  const maxDelay = options.maxDelay || 5000;
  let socket: WebSocket | null = null;
  let isOpen = false;
  let delay = minDelay;
  let handlers: TransportHandlers | null = null;
  const queue: string[] = [];

  function open(): void {
    let sock: WebSocket;
    try {
      sock = new Socket(url);
    } catch (err) {
      console.error("Pytonium: cannot open the WebSocket " + url + ": " + String(err));
      return;
    }
    socket = sock;
    sock.onopen = () => {
      isOpen = true;
      delay = minDelay;
      const waiting = queue.splice(0, queue.length);
      for (let i = 0; i < waiting.length; i++) sock.send(waiting[i]);
      handlers!.open();
    };
    sock.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let msg: StoreMessage;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      handlers!.message(msg);
    };
    sock.onclose = () => {
      if (socket !== sock) return;
      isOpen = false;
      socket = null;
      if (handlers!.closed) handlers!.closed();
      later(open, delay);
      delay = Math.min(delay * 2, maxDelay);
    };
  }

  return {
    connect(h) {
      handlers = h;
      open();
    },
    send(frame) {
      if (isOpen && socket) socket.send(frame.json);
      else queue.push(frame.json);
    },
  };
}
