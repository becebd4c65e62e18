import { JSDOM } from "jsdom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { boot } from "../src/boot";
import { createCalls } from "../src/calls";
import type { BoundFunction, StoreMessage, ViewMessage } from "../src/protocol";

const ME = "view:me";
const FUNCTIONS: BoundFunction[] = [
  { object: "", name: "get_config", min: 0, max: 1 },
  { object: "api", name: "add", min: 2, max: 2 },
  { object: "api", name: "many", min: 0, max: -1 },
];

function setup() {
  const sent: ViewMessage[] = [];
  const warn = vi.fn();
  const calls = createCalls({ viewId: ME, send: (m) => sent.push(JSON.parse(JSON.stringify(m))), functions: FUNCTIONS, warn });
  const answer = (msg: Record<string, unknown>) => calls.receive(msg as StoreMessage);
  return { calls, sent, warn, answer };
}

afterEach(() => vi.restoreAllMocks());

describe("calls", () => {
  it("send a call and resolve with the result for this view only", async () => {
    const { calls, sent, answer } = setup();
    const api = calls.member("api") as { add: (a: number, b: number) => Promise<number> };
    const p = api.add(1, 2);
    expect(sent).toEqual([]); // the calls of a task leave after it, together
    await Promise.resolve();
    expect(sent).toEqual([{ t: "call", view: ME, id: 1, object: "api", name: "add", args: [1, 2] }]);
    answer({ t: "result", to: "view:other", id: 1, value: 99 });
    answer({ t: "result", to: ME, id: 1, value: 3 });
    await expect(p).resolves.toBe(3);
    expect(calls.pending).toBe(0);
  });

  it("reject with the Python exception's class as the Error's name", async () => {
    const { calls, answer } = setup();
    const p = calls.callFunction("get_config");
    answer({ t: "callerror", to: ME, id: 1, name: "FileNotFoundError", message: "no config.json" });
    await expect(p).rejects.toMatchObject({ name: "FileNotFoundError", message: "no config.json" });
  });

  it("reject at once, sending nothing: unknown name, wrong count, a value that is no state value", async () => {
    const { calls, sent } = setup();
    await expect(calls.callFunction("nope")).rejects.toMatchObject({ name: "ReferenceError", message: /Pytonium\.nope is not bound \(bound: get_config, api\.add, api\.many\)/ });
    const api = calls.member("api") as { add: (...a: unknown[]) => Promise<number> };
    await expect(api.add(1)).rejects.toThrow(/api\.add\(\) takes 2 arguments, got 1/);
    await expect(api.add(1, NaN)).rejects.toThrow(/api\.add\.arguments\[1\]: NaN is not a state value/);
    await expect(calls.callFunction("")).rejects.toThrow(TypeError);
    expect(sent).toEqual([]);
  });

  it("AbortSignal: rejects with AbortError at once, sends cancel, drops the late result", async () => {
    const { calls, sent, answer } = setup();
    const ac = new AbortController();
    const p = calls.callFunction("get_config", "x", ac.signal);
    await Promise.resolve();
    expect(sent[0]).toMatchObject({ t: "call", args: ["x"] });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    expect(sent[1]).toEqual({ t: "cancel", view: ME, id: 1 });
    expect(answer({ t: "result", to: ME, id: 1, value: 1 })).toBe(true);
    const done = new AbortController();
    done.abort();
    await expect(calls.callFunction("get_config", done.signal)).rejects.toMatchObject({ name: "AbortError" });
    expect(sent).toHaveLength(2);
  });

  it("timeout: rejects with TimeoutError and cancels", async () => {
    vi.useFakeTimers();
    try {
      const { calls, sent } = setup();
      const p = calls.callFunction("get_config", calls.callOptions({ timeout: 50 }));
      await Promise.resolve();
      const seen = expect(p).rejects.toMatchObject({ name: "TimeoutError" });
      vi.advanceTimersByTime(60);
      await seen;
      expect(sent[1]).toEqual({ t: "cancel", view: ME, id: 1 });
      expect(() => calls.callOptions({ timeout: -1 })).toThrow(/timeout must be a number/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a closed channel or a disconnected view rejects every call in flight", async () => {
    const { calls } = setup();
    const a = calls.callFunction("get_config");
    calls.closed();
    await expect(a).rejects.toMatchObject({ name: "DisconnectedError" });
    const b = calls.callFunction("get_config");
    calls.disconnected("kernel restarted");
    await expect(b).rejects.toMatchObject({ name: "DisconnectedError" });
    await expect(calls.callFunction("get_config")).rejects.toThrow(/disconnected from its store \(kernel restarted\)/);
  });

  it("unknown names are undefined with one warning; a functions message rebinds", async () => {
    const { calls, warn, answer } = setup();
    expect(calls.member("shell")).toBeUndefined();
    expect(calls.member("shell")).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/Pytonium\.shell is undefined/);
    answer({ t: "functions", functions: [{ object: "shell", name: "run", min: 0, max: -1 }] });
    expect(typeof (calls.member("shell") as { run: unknown }).run).toBe("function");
    expect(calls.member("api")).toBeUndefined();
  });

  it("sends the calls of one task as one message and takes answers together", async () => {
    const { calls, sent, answer } = setup();
    const a = calls.callFunction("get_config", 1);
    const b = calls.callFunction("get_config", 2);
    const ac = new AbortController();
    const c = calls.callFunction("get_config", 3, ac.signal);
    ac.abort(); // still queued: it never leaves, and needs no cancel
    await expect(c).rejects.toMatchObject({ name: "AbortError" });
    expect(sent.map((m) => m.t)).toEqual(["calls"]);
    expect((sent[0] as { calls: unknown[] }).calls).toHaveLength(2);
    answer({ t: "answers", answers: [{ t: "result", to: ME, id: 2, value: "b" }, { t: "callerror", to: ME, id: 1, name: "E", message: "m" }] });
    await expect(b).resolves.toBe("b");
    await expect(a).rejects.toMatchObject({ name: "E" });
  });

  it("joins a chunked answer", async () => {
    const { calls, answer } = setup();
    const p = calls.callFunction("get_config");
    const text = JSON.stringify({ t: "result", to: ME, id: 1, value: "x".repeat(100) });
    const parts = [text.slice(0, 30), text.slice(30, 70), text.slice(70)];
    answer({ t: "chunk", to: ME, cid: "py:1", i: 2, n: 3, data: parts[2] });
    answer({ t: "chunk", to: ME, cid: "py:1", i: 0, n: 3, data: parts[0] });
    expect(calls.pending).toBe(1);
    answer({ t: "chunk", to: ME, cid: "py:1", i: 1, n: 3, data: parts[1] });
    await expect(p).resolves.toBe("x".repeat(100));
  });
});

describe("window.Pytonium", () => {
  it("has the functions of the config before any message, and feature tests see unbound names as undefined", () => {
    const win = new JSDOM("<!doctype html>", { url: "http://app.local/" }).window as unknown as Parameters<typeof boot>[0];
    (win as { __PYTONIUM_CONFIG__?: unknown }).__PYTONIUM_CONFIG__ = { transport: "postMessage", functions: FUNCTIONS };
    vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const post = vi.spyOn(win.parent, "postMessage").mockImplementation(() => {});
    boot(win);
    const P = win.Pytonium as unknown as Record<string, unknown> & { callFunction: (n: string) => Promise<unknown> };
    expect(typeof (P.api as { add: unknown }).add).toBe("function");
    expect(typeof P.get_config).toBe("function");
    expect(P.shell).toBeUndefined();
    expect("shell" in P).toBe(false);
    expect("api" in P).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(P.then).toBeUndefined();
    const unknown = P.callFunction("missing"); // a rejected Promise, not a throw: the page's .catch runs
    expect(typeof (unknown as { then?: unknown }).then).toBe("function");
    const port = (post.mock.calls[0] as unknown as [unknown, string, MessagePort[]])[2][0]; // the page's offer
    const heard: unknown[] = [];
    port.onmessage = (e) => heard.push(e.data);
    return expect(unknown).rejects.toMatchObject({ name: "ReferenceError" }).then(async () => {
      (P.api as { add: (a: number, b: number) => Promise<unknown> }).add(1, 2).catch(() => {});
      await vi.waitFor(() => expect(heard[heard.length - 1]).toMatchObject({ t: "call", name: "add", args: [1, 2] }));
      port.close();
    });
  });
});
