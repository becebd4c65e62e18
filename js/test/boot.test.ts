import { JSDOM } from "jsdom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { boot, socketUrl } from "../src/boot";

type PageWindow = Parameters<typeof boot>[0];

function page(config?: unknown, url = "http://app.local/index.html"): PageWindow {
  const win = new JSDOM("<!doctype html><p>page</p>", { url }).window as unknown as PageWindow;
  if (config !== undefined) (win as { __PYTONIUM_CONFIG__?: unknown }).__PYTONIUM_CONFIG__ = config;
  return win;
}

afterEach(() => vi.restoreAllMocks());

describe("boot", () => {
  it("without a config logs a clear error, does not throw, and still installs appState", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const win = page();
    expect(() => boot(win)).not.toThrow();
    expect(error.mock.calls[0][0]).toMatch(/__PYTONIUM_CONFIG__ is not set/);
    win.Pytonium!.appState.setState("a", "k", 1);
    expect(win.Pytonium!.appState.getState("a", "k")).toBe(1);
    expect(win.PytoniumReady).toBeUndefined();
  });

  it("with an unknown transport logs an error", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const win = page({ transport: "carrier-pigeon" });
    boot(win);
    expect(error.mock.calls[0][0]).toMatch(/carrier-pigeon/);
    expect(typeof win.Pytonium!.appState.getState).toBe("function");
  });

  it("postMessage: offers the parent a port and says hello over it at once", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {}); // top-level jsdom window: not in a frame
    const win = page({ transport: "postMessage" });
    const post = vi.spyOn(win.parent, "postMessage").mockImplementation(() => {});
    boot(win);
    const view = win.Pytonium!.appState.viewId;
    expect(post).toHaveBeenCalledTimes(1);
    expect(post.mock.calls[0].slice(0, 2)).toEqual([{ pytoniumPort: 1 }, "*"]);
    const port = (post.mock.calls[0] as unknown as [unknown, string, MessagePort[]])[2][0];
    const heard = await new Promise((resolve) => (port.onmessage = (e) => resolve(e.data)));
    port.close();
    expect(heard).toEqual({ t: "hello", view });
  });

  it("does not install a second runtime when injected twice", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const win = page();
    boot(win);
    const first = win.Pytonium;
    boot(win);
    expect(win.Pytonium).toBe(first);
  });

  it("websocket: opens the configured URL", () => {
    const opened: string[] = [];
    const win = page({ transport: "websocket", url: "ws://127.0.0.1:9/_pytonium/ws?token=abc" });
    (win as unknown as { WebSocket: unknown }).WebSocket = class {
      constructor(url: string) {
        opened.push(url);
      }
    };
    boot(win);
    expect(opened).toEqual(["ws://127.0.0.1:9/_pytonium/ws?token=abc"]);
  });
});

describe("socketUrl", () => {
  it("resolves against the page, switches to ws(s) and adds the token", () => {
    expect(socketUrl(page(), { url: "/_pytonium/ws", token: "T" })).toBe("ws://app.local/_pytonium/ws?token=T");
    expect(socketUrl(page(undefined, "https://x.test/a/b.html"), { token: "T" })).toBe("wss://x.test/_pytonium/ws?token=T");
    expect(socketUrl(page(), { url: "ws://127.0.0.1:5/_pytonium/ws?token=A", token: "B" })).toBe(
      "ws://127.0.0.1:5/_pytonium/ws?token=A",
    );
  });
});
