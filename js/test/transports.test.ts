import { describe, expect, it, vi } from "vitest";
import type { Frame, StoreMessage } from "../src/protocol";
import { createAppState } from "../src/runtime";
import { offeredPort, PORT_OFFER, postMessageTransport } from "../src/transports/postmessage";
import { webSocketTransport } from "../src/transports/websocket";

const frame = (msg: Record<string, unknown>): Frame => ({ msg: msg as Frame["msg"], json: JSON.stringify(msg) });

describe("postMessage transport", () => {
  /** A frame's window whose parent records what it is posted, and a channel of fake ports. */
  function fakeFrame() {
    const parent = { postMessage: vi.fn() };
    const win = { parent } as unknown as Window;
    const port = () => ({ onmessage: null as null | ((e: { data: unknown }) => void), postMessage: vi.fn() });
    const made = { port1: port(), port2: port() };
    const channel = () => made as unknown as MessageChannel;
    return { win, parent, made, channel };
  }

  it("offers its parent one port of a channel of its own, then opens", () => {
    const { win, parent, made, channel } = fakeFrame();
    const open = vi.fn(() => expect(parent.postMessage).toHaveBeenCalledTimes(1));
    postMessageTransport(win, channel).connect({ open, message: vi.fn() });
    expect(open).toHaveBeenCalledTimes(1);
    expect(parent.postMessage).toHaveBeenCalledWith({ [PORT_OFFER]: 1 }, "*", [made.port2]);
  });

  it("sends and hears over its port only", () => {
    const { win, parent, made, channel } = fakeFrame();
    const message = vi.fn();
    const t = postMessageTransport(win, channel);
    t.send(frame({ t: "hello", view: "view:early" })); // before connect: no channel yet
    t.connect({ open: vi.fn(), message });
    t.send(frame({ t: "hello", view: "view:x" }));
    expect(made.port1.postMessage.mock.calls).toEqual([[{ t: "hello", view: "view:x" }]]);
    expect(parent.postMessage).toHaveBeenCalledTimes(1); // the offer, nothing else
    const msg = { t: "batch", seq: 1, changes: [] };
    made.port1.onmessage!({ data: msg });
    expect(message).toHaveBeenCalledWith(msg);
  });

  it("a real MessageChannel carries the page's messages to the port it offered, and back", async () => {
    const offered: MessagePort[] = [];
    const win = { parent: { postMessage: (_d: unknown, _o: string, ports: MessagePort[]) => offered.push(...ports) } };
    const heard: unknown[] = [];
    const t = postMessageTransport(win as unknown as Window);
    t.connect({ open: () => t.send(frame({ t: "hello", view: "view:real" })), message: (m) => heard.push(m) });
    const parentEnd = offered[0];
    const got = await new Promise((resolve) => (parentEnd.onmessage = (e) => resolve(e.data)));
    expect(got).toEqual({ t: "hello", view: "view:real" });
    parentEnd.postMessage({ t: "disconnected" });
    await vi.waitFor(() => expect(heard).toEqual([{ t: "disconnected" }]));
    parentEnd.close();
  });
});

describe("offeredPort", () => {
  const frameWindow = {} as Window;
  const event = (source: unknown, data: unknown, ports: unknown[]) => ({ source, data, ports }) as unknown as MessageEvent;
  const port = {} as MessagePort;

  it("is the port of an offer from the given frame, else null", () => {
    expect(offeredPort(event(frameWindow, { [PORT_OFFER]: 1 }, [port]), frameWindow)).toBe(port);
    expect(offeredPort(event({}, { [PORT_OFFER]: 1 }, [port]), frameWindow)).toBeNull(); // another window
    expect(offeredPort(event(frameWindow, { [PORT_OFFER]: 1 }, [port]), null)).toBeNull(); // no page loaded
    expect(offeredPort(event(frameWindow, { pytonium: {} }, [port]), frameWindow)).toBeNull();
    expect(offeredPort(event(frameWindow, null, [port]), frameWindow)).toBeNull();
    expect(offeredPort(event(frameWindow, "pytoniumPort", [port]), frameWindow)).toBeNull();
    expect(offeredPort(event(frameWindow, { [PORT_OFFER]: 1 }, []), frameWindow)).toBeNull();
    expect(offeredPort(event(frameWindow, { [PORT_OFFER]: 1 }, [port, port]), frameWindow)).toBeNull();
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
