import { describe, expect, it, vi } from "vitest";
import type { Frame, StoreMessage } from "../src/protocol";
import { createAppState } from "../src/runtime";
import { postMessageTransport } from "../src/transports/postmessage";
import { webSocketTransport } from "../src/transports/websocket";

const frame = (msg: Record<string, unknown>): Frame => ({ msg: msg as Frame["msg"], json: JSON.stringify(msg) });

describe("postMessage transport", () => {
  function fakeFrameWindow() {
    const listeners: Array<(e: unknown) => void> = [];
    const parent = { postMessage: vi.fn() };
    const win = { parent, addEventListener: (_type: string, fn: (e: unknown) => void) => listeners.push(fn) };
    const deliver = (source: unknown, data: unknown) => listeners.forEach((fn) => fn({ source, data }));
    return { win: win as unknown as Window, parent, deliver };
  }

  it("opens at once and posts {pytonium: msg} to the parent", () => {
    const { win, parent } = fakeFrameWindow();
    const open = vi.fn();
    const t = postMessageTransport(win);
    t.connect({ open, message: vi.fn() });
    expect(open).toHaveBeenCalledTimes(1);
    t.send(frame({ t: "hello", view: "view:x" }));
    expect(parent.postMessage).toHaveBeenCalledWith({ pytonium: { t: "hello", view: "view:x" } }, "*");
  });

  it("takes only messages from the parent that carry a pytonium field", () => {
    const { win, parent, deliver } = fakeFrameWindow();
    const message = vi.fn();
    postMessageTransport(win).connect({ open: vi.fn(), message });
    const msg = { t: "batch", seq: 1, changes: [] };
    deliver({ postMessage() {} }, { pytonium: msg }); // another window
    deliver(parent, { other: msg }); // not ours
    deliver(parent, "text");
    deliver(parent, null);
    expect(message).not.toHaveBeenCalled();
    deliver(parent, { pytonium: msg });
    expect(message).toHaveBeenCalledWith(msg);
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(text);
  }
  open() {
    this.onopen!();
  }
  close() {
    this.onclose!();
  }
  receive(data: unknown) {
    this.onmessage!({ data });
  }
}

function socketSetup() {
  FakeSocket.all = [];
  const timers: Array<[() => void, number]> = [];
  const transport = webSocketTransport("ws://127.0.0.1:1/_pytonium/ws?token=T", {
    WebSocket: FakeSocket as unknown as { new (url: string): WebSocket },
    setTimeout: (fn, ms) => timers.push([fn, ms]),
  });
  const runNext = () => timers.shift()![0]();
  return { transport, timers, runNext, sockets: FakeSocket.all };
}

describe("WebSocket transport", () => {
  it("queues while connecting, then flushes the queue before the runtime's hello", () => {
    const { transport, sockets } = socketSetup();
    const appState = createAppState(transport, { viewId: "view:ws" });
    expect(sockets).toHaveLength(1);
    expect(sockets[0].url).toBe("ws://127.0.0.1:1/_pytonium/ws?token=T");
    appState.setState("a", "k", 1); // before the socket is open
    expect(sockets[0].sent).toEqual([]);
    sockets[0].open();
    expect(sockets[0].sent.map((s) => JSON.parse(s).t)).toEqual(["set", "hello"]);
  });

  it("reconnects with a doubling backoff, says hello on every connect, and resets the delay", () => {
    const { transport, timers, runNext, sockets } = socketSetup();
    createAppState(transport, { viewId: "view:ws" });
    sockets[0].open();
    sockets[0].close();
    expect(timers.map((t) => t[1])).toEqual([100]);
    runNext();
    sockets[1].close(); // never opened
    runNext();
    sockets[2].close();
    expect(timers.map((t) => t[1])).toEqual([400]);
    runNext();
    sockets[3].open();
    sockets[3].close();
    expect(timers.map((t) => t[1])).toEqual([100]);
    const hellos = sockets.map((s) => s.sent.filter((m) => JSON.parse(m).t === "hello").length);
    expect(hellos).toEqual([1, 0, 0, 1]);
  });

  it("says when the socket closed, so calls in flight fail (their link is gone)", () => {
    const { transport, sockets } = socketSetup();
    const closed = vi.fn();
    transport.connect({ open: vi.fn(), message: vi.fn(), closed });
    sockets[0].open();
    expect(closed).not.toHaveBeenCalled();
    sockets[0].close();
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it("caps the backoff", () => {
    const { transport, timers, runNext, sockets } = socketSetup();
    transport.connect({ open: vi.fn(), message: vi.fn() });
    for (let i = 0; i < 10; i++) {
      sockets[sockets.length - 1].close();
      if (i < 9) runNext();
    }
    expect(timers[0][1]).toBe(5000);
  });

  it("parses text frames and ignores others", () => {
    const { transport, sockets } = socketSetup();
    const message = vi.fn();
    transport.connect({ open: vi.fn(), message });
    sockets[0].open();
    sockets[0].receive("not json");
    sockets[0].receive(new ArrayBuffer(2));
    expect(message).not.toHaveBeenCalled();
    const snap: StoreMessage = { t: "snapshot", to: "v", seq: 1, rev: 1, namespaces: null, state: {} };
    sockets[0].receive(JSON.stringify(snap));
    expect(message).toHaveBeenCalledWith(snap);
  });
});
