/**
 * The built runtime.js runs in Chromium 66 as an inline classic script: parse it as
 * ES2017, look for globals and methods Chrome 66 lacks, and run it in a page.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type Node } from "acorn";
import { JSDOM } from "jsdom";
import { describe, expect, it, vi } from "vitest";

const STATIC = resolve(dirname(fileURLToPath(import.meta.url)), "../../pytonium_lab/static");
const RUNTIME = resolve(STATIC, "runtime.js");
const WIDGET = resolve(STATIC, "widget.js");

const BANNED_GLOBALS = ["globalThis", "structuredClone", "queueMicrotask", "BigInt", "BigInt64Array", "AggregateError", "WeakRef"];
const BANNED_METHODS = ["fromEntries", "flat", "flatMap", "replaceAll", "matchAll", "at", "hasOwn", "allSettled", "any", "findLast", "toWellFormed"];

/** Names Chrome 66 lacks that `code` uses: free identifiers and member properties. */
function chrome66Problems(code: string): string[] {
  const ast = parse(code, { ecmaVersion: 2017, sourceType: "script" });
  const found: string[] = [];
  const visit = (node: unknown, parent: Record<string, unknown> | null, field: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, parent, field));
    if (!node || typeof node !== "object" || typeof (node as Node).type !== "string") return;
    const n = node as Node & Record<string, unknown>;
    if (n.type === "Identifier" && BANNED_GLOBALS.indexOf(n.name as string) >= 0) {
      const isProperty = parent && parent.type === "MemberExpression" && field === "property" && !parent.computed;
      const isKey = parent && parent.type === "Property" && field === "key";
      if (!isProperty && !isKey) found.push(n.name as string);
    }
    if (n.type === "MemberExpression") {
      const p = n.property as Record<string, unknown>;
      const name = n.computed ? (p.type === "Literal" ? p.value : null) : p.name;
      if (typeof name === "string" && BANNED_METHODS.indexOf(name) >= 0) found.push("." + name);
    }
    for (const key of Object.keys(n)) if (key !== "type") visit(n[key], n, key);
  };
  visit(ast, null, "");
  return found;
}

describe("built runtime.js", () => {
  const code = readFileSync(RUNTIME, "utf8");

  it("parses as ES2017 (Chromium 66 syntax)", () => {
    expect(() => parse(code, { ecmaVersion: 2017, sourceType: "script" })).not.toThrow();
  });

  it("the syntax check rejects newer syntax", () => {
    for (const newer of ["a?.b", "a ?? b", "class A { x = 1 }", "({...a})", "try {} catch {}", "1_000"]) {
      expect(() => parse(newer, { ecmaVersion: 2017, sourceType: "script" })).toThrow();
    }
  });

  it("uses no global or method Chromium 66 lacks", () => {
    expect(chrome66Problems(code)).toEqual([]);
  });

  it("the scan finds banned globals and methods (but not strings or object keys)", () => {
    const sample =
      "globalThis.x; structuredClone(a); queueMicrotask(f); Object.fromEntries(e); a.flat(); BigInt(1); a['at'](0);" +
      "var s = 'globalThis BigInt'; var o = { flat: 1 }; o.BigInt;";
    expect(chrome66Problems(sample).sort()).toEqual(
      ["globalThis", "structuredClone", "queueMicrotask", ".fromEntries", ".flat", "BigInt", ".at"].sort(),
    );
  });

  it("is an IIFE safe to inline in <script> (no </script or <!--)", () => {
    expect(code).not.toMatch(/<\/script|<!--/i);
    expect(code).not.toMatch(/^\s*(import|export)\s/m);
  });

  it("installs Pytonium.appState before page scripts run, and becomes ready at the first snapshot", async () => {
    const html =
      "<!doctype html><html><head>" +
      '<script>window.__PYTONIUM_CONFIG__ = {"transport": "postMessage"};</script>' +
      "<script>" + code + "</script>" +
      "<script>window.seenAtLoad = typeof Pytonium.appState.setState; window.readyAtLoad = !!window.PytoniumReady;" +
      "window.readyEvents = 0; window.addEventListener('PytoniumReady', function () { window.readyEvents++; });</script>" +
      "</head><body></body></html>";
    // jsdom has no MessageChannel: the page gets Node's, and its offer is caught on its way to the parent.
    const offered: MessagePort[] = [];
    const dom = new JSDOM(html, {
      runScripts: "dangerously",
      beforeParse(window) {
        Object.assign(window, { MessageChannel });
        window.postMessage = ((_data: unknown, _origin: string, ports: MessagePort[]) => offered.push(...ports)) as never;
      },
    });
    const win = dom.window as unknown as typeof window & Record<string, unknown> & {
      Pytonium: { appState: { viewId: string; getState(ns: string, key: string): unknown } };
    };
    expect(win.seenAtLoad).toBe("function");
    expect(win.readyAtLoad).toBe(false);
    const view = win.Pytonium.appState.viewId;
    const snapshot = { t: "snapshot", to: view, seq: 1, rev: 1, namespaces: null, state: { settings: { theme: "dark" } } };
    // A top-level jsdom window is its own parent: the port it offered itself is the parent's end.
    expect(offered.length).toBe(1);
    offered[0].postMessage(snapshot);
    await vi.waitFor(() => expect(win.PytoniumReady).toBe(true));
    offered[0].close();
    expect(win.readyEvents).toBe(1);
    expect(win.Pytonium.appState.getState("settings", "theme")).toBe("dark");
    dom.window.close();
  });
});

describe("built widget.js", () => {
  it("is an ES module whose default export has render", async () => {
    // A literal path, so vite resolves it (the build makes the file; it has no .d.ts).
    // @ts-ignore
    const mod = await import("../../pytonium_lab/static/widget.js");
    expect(readFileSync(WIDGET, "utf8")).toMatch(/export\s*\{[^}]*as default/);;
    expect(typeof mod.default.render).toBe("function");
  });
});
