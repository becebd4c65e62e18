import { describe, expect, it, vi } from "vitest";
import { pageSource, reportPageLog, RUNTIME_URL, type LogEntry } from "../src/pagelog";

function fakeWindow() {
  const target = new EventTarget() as EventTarget & { console: Console };
  const seen: unknown[][] = [];
  target.console = { ...console, error: (...a: unknown[]) => seen.push(["error", ...a]), warn: (...a: unknown[]) => seen.push(["warn", ...a]) } as Console;
  return { win: target as unknown as Window & { console: Console }, seen };
}

describe("the page's errors reach the store side", () => {
  it("sends uncaught errors, rejections and console.error/warn, and still prints them", () => {
    const { win, seen } = fakeWindow();
    const sent: LogEntry[] = [];
    reportPageLog(win, (e) => sent.push(e));
    win.console.error("d3 is not defined", { x: 1 });
    win.console.warn(new Error("careful"));
    win.dispatchEvent(Object.assign(new Event("error"), { message: "boom", filename: "about:srcdoc", lineno: 7, error: null }));
    win.dispatchEvent(Object.assign(new Event("unhandledrejection"), { reason: "nope" }));
    expect(seen.map((s) => s[0])).toEqual(["error", "warn"]);
    expect(sent.map((e) => [e.level, e.message.split("\n")[0]])).toEqual([
      ["error", 'd3 is not defined {"x":1}'],
      ["warn", "Error: careful"],
      ["error", "boom"],
      ["error", "Unhandled promise rejection: nope"],
    ]);
    expect(sent[2].source).toBe("about:srcdoc:7");
    expect(sent[0].source).toMatch(/pagelog\.test\.ts:\d+$/);
  });

  // Stacks as Chromium writes them for a notebook page whose runtime is named (pytonium_lab/_page.py).
  const THROWN_BY_RUNTIME =
    "TypeError: ns.k: undefined is not a state value\n    at fail (pytonium-runtime.js:1:4711)\n" +
    "    at walk (pytonium-runtime.js:1:5361)\n    at cleanValue (pytonium-runtime.js:1:4647)\n" +
    "    at Object.setState (pytonium-runtime.js:1:12844)\n    at later (about:srcdoc:7:38)";
  const THROWN_IN_A_LISTENER =
    "ReferenceError: nothere is not defined\n    at about:srcdoc:10:130\n    at fire (pytonium-runtime.js:1:9296)\n" +
    "    at pytonium-runtime.js:1:14687\n    at Array.forEach (<anonymous>)\n    at pytonium-runtime.js:1:14676";

  it("finds the page's own frame in a stack, past the runtime's and native ones", () => {
    expect(RUNTIME_URL).toBe("pytonium-runtime.js");
    expect(pageSource(THROWN_BY_RUNTIME)).toBe("about:srcdoc:7");
    expect(pageSource(THROWN_IN_A_LISTENER)).toBe("about:srcdoc:10");
    expect(pageSource("Error: two\nlines at x:1:2\n    at Array.forEach (<anonymous>)\n    at f (http://h/p.js?token=T:3:4)")).toBe(
      "http://h/p.js:3",
    );
    expect(pageSource("Error\n    at a (app.js:1:1)\n    at b (app.js:2:1)\n    at c (app.js:3:1)", 2)).toBe("app.js:3");
    expect(pageSource("Error\n    at fail (pytonium-runtime.js:1:5)")).toBe(""); // none of the page's
  });

  it("an error the runtime throws at the page's call is placed at that call, not at the runtime's line", () => {
    const { win } = fakeWindow();
    const sent: LogEntry[] = [];
    reportPageLog(win, (e) => sent.push(e));
    const error = new TypeError("ns.k: undefined is not a state value");
    error.stack = THROWN_BY_RUNTIME;
    win.dispatchEvent(Object.assign(new Event("error"), { message: "Uncaught", filename: RUNTIME_URL, lineno: 1, error }));
    const inner = new Error("runtime bug");
    inner.stack = "Error: runtime bug\n    at f (pytonium-runtime.js:1:5)";
    win.dispatchEvent(Object.assign(new Event("error"), { message: "Uncaught", filename: RUNTIME_URL, lineno: 1, error: inner }));
    const rejected = new Error("no");
    rejected.stack = THROWN_IN_A_LISTENER;
    win.dispatchEvent(Object.assign(new Event("unhandledrejection"), { reason: rejected }));
    expect(sent.map((e) => e.source)).toEqual(["about:srcdoc:7", "pytonium-runtime.js:1", "about:srcdoc:10"]);
  });

  it("cuts a flood to a burst, then a rate, and says how many it dropped", () => {
    const { win } = fakeWindow();
    let t = 0;
    const sent: LogEntry[] = [];
    reportPageLog(win, (e) => sent.push(e), { burst: 5, perSecond: 2, now: () => t });
    for (let i = 0; i < 1000; i++) win.console.error("loop " + i);
    expect(sent).toHaveLength(5);
    t = 1000; // one second later: two more may pass
    win.console.error("after");
    expect(sent[5]).toMatchObject({ message: "after", dropped: 995 });
  });

  it("never tells a URL's query (a desktop page's carries the session token)", () => {
    const { win } = fakeWindow();
    const sent: LogEntry[] = [];
    reportPageLog(win, (e) => sent.push(e));
    const url = "http://127.0.0.1:5/_s/a/app/index.html?token=SECRET-tok_en#x";
    const error = new Error("d3 is not defined");
    error.stack = "ReferenceError: d3 is not defined\n    at " + url + ":12:5";
    win.dispatchEvent(Object.assign(new Event("error"), { message: "Uncaught ReferenceError", filename: url, lineno: 12, error }));
    expect(sent[0].source).toBe("http://127.0.0.1:5/_s/a/app/index.html:12");
    expect(sent[0].message).toBe("Uncaught ReferenceError: d3 is not defined\n    at http://127.0.0.1:5/_s/a/app/index.html:12:5");
    expect(JSON.stringify(sent)).not.toContain("SECRET");
  });

  it("a sender that logs does not loop", () => {
    const { win } = fakeWindow();
    const send = vi.fn(() => win.console.error("from inside"));
    reportPageLog(win, send);
    win.console.error("once");
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe("the list under a notebook view", () => {
  it("shows the newest first, counts repeats, and clears", async () => {
    const { logPanel } = await import("../src/logpanel");
    const panel = logPanel(document);
    expect(panel.el.style.display).toBe("none");
    const entry = (message: string, dropped = 0): LogEntry => ({ level: "error", message, source: "about:srcdoc:3", dropped });
    panel.add(entry("a is not defined\n    at stack"));
    panel.add({ ...entry("careful"), level: "warn" });
    panel.add(entry("a is not defined\n    at stack", 7));
    const lines = Array.from(panel.el.querySelectorAll(".pytonium-lab-log-entry")).map((e) => e.textContent);
    expect(lines).toEqual(["error: a is not defined  (about:srcdoc:3)\u00d72", "warning: careful  (about:srcdoc:3)"]);
    expect(panel.el.textContent).toContain("page errors and warnings: 3 (7 more dropped by the rate limit)");
    (panel.el.querySelector(".pytonium-lab-log-clear") as HTMLButtonElement).click();
    expect(panel.el.querySelectorAll(".pytonium-lab-log-entry")).toHaveLength(0);
    expect(panel.el.style.display).toBe("none");
  });

  it("counts one error reached by two paths (different stacks) on one line, showing the last stack", async () => {
    // The prototyping notebook's page: show() throws from onReady and from the registration's first event.
    const { logPanel } = await import("../src/logpanel");
    const panel = logPanel(document);
    const thrown = (via: string): LogEntry => ({
      level: "error",
      message: "Uncaught ReferenceError: drawBar is not defined\n    at show (about:srcdoc:14:3)\n    at " + via,
      source: "about:srcdoc:14",
      dropped: 0,
    });
    panel.add(thrown("onReady (about:srcdoc:23:3)"));
    panel.add(thrown("about:srcdoc:19:82"));
    const lines = Array.from(panel.el.querySelectorAll(".pytonium-lab-log-entry")) as HTMLElement[];
    expect(lines.map((e) => e.textContent)).toEqual(["error: Uncaught ReferenceError: drawBar is not defined  (about:srcdoc:14)\u00d72"]);
    expect(lines[0].title).toContain("about:srcdoc:19:82");
  });
});
