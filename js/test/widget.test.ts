import { afterEach, describe, expect, it, vi } from "vitest";
import widget from "../src/widget";

type Handler = (...args: unknown[]) => void;

function fakeModel(values: Record<string, unknown>) {
  const handlers = new Map<string, Handler[]>();
  const sent: unknown[] = [];
  const model = {
    get: (name: string) => values[name],
    set: (name: string, value: unknown) => {
      values[name] = value;
      (handlers.get("change:" + name) || []).slice().forEach((fn) => fn());
    },
    on: (name: string, fn: Handler) => handlers.set(name, (handlers.get(name) || []).concat([fn])),
    off: (name: string, fn: Handler) => handlers.set(name, (handlers.get(name) || []).filter((f) => f !== fn)),
    send: (msg: unknown) => sent.push(msg),
    emit: (name: string, ...args: unknown[]) => (handlers.get(name) || []).slice().forEach((fn) => fn(...args)),
    count: () => Array.from(handlers.values()).reduce((n, list) => n + list.length, 0),
  };
  return { model, sent };
}

function mount(values: Record<string, unknown> = { _srcdoc: "<p>hi</p>", height: "300px" }) {
  const { model, sent } = fakeModel(values);
  const el = document.createElement("div");
  document.body.appendChild(el);
  const render = widget.render as unknown as (p: { model: unknown; el: HTMLElement }) => () => void;
  const cleanup = render({ model, el });
  const iframe = el.querySelector("iframe")!;
  return { model, sent, el, iframe, cleanup };
}

function fromWindow(source: unknown, data: unknown) {
  window.dispatchEvent(new MessageEvent("message", { data, source: source as Window }));
}

afterEach(() => {
  document.body.innerHTML = "";
});

describe("widget render", () => {
  it("shows the page in a sandboxed iframe without allow-same-origin", () => {
    const { el, iframe } = mount();
    expect(el.classList.contains("pytonium-lab-view")).toBe(true);
    expect(iframe.getAttribute("sandbox")).toBe("allow-scripts");
    expect(iframe.hasAttribute("data-pytonium-view")).toBe(true);
    expect(iframe.srcdoc).toBe("<p>hi</p>");
    expect(iframe.style.width).toBe("100%");
    expect(iframe.style.height).toBe("300px");
    expect(iframe.style.borderStyle || iframe.style.border).toMatch(/none/);
  });

  it("relays the page's messages to the model, only from its own iframe", () => {
    const { iframe, sent } = mount();
    const other = document.createElement("iframe");
    document.body.appendChild(other);
    const hello = { t: "hello", view: "view:abc" };
    fromWindow(other.contentWindow, { pytonium: hello });
    fromWindow(iframe.contentWindow, { notOurs: 1 });
    fromWindow(iframe.contentWindow, "text");
    expect(sent).toEqual([]);
    fromWindow(iframe.contentWindow, { pytonium: hello });
    expect(sent).toEqual([hello]);
    expect(iframe.getAttribute("data-pytonium-view")).toBe("view:abc");
  });

  it("relays store messages to the page, including ones for other views", () => {
    const { model, iframe } = mount();
    const post = vi.spyOn(iframe.contentWindow!, "postMessage").mockImplementation(() => {});
    const batch = { t: "batch", seq: 1, changes: [] };
    const other = { t: "snapshot", to: "view:other", seq: 1, rev: 0, namespaces: null, state: {} };
    model.emit("msg:custom", batch, []);
    model.emit("msg:custom", other, []);
    expect(post.mock.calls).toEqual([
      [{ pytonium: batch }, "*"],
      [{ pytonium: other }, "*"],
    ]);
  });

  it("follows changes of _srcdoc and height", () => {
    const { model, iframe } = mount();
    model.set("_srcdoc", "<p>new</p>");
    model.set("height", "12em");
    expect(iframe.srcdoc).toBe("<p>new</p>");
    expect(iframe.style.height).toBe("12em");
  });

  it("cleanup removes every listener and the iframe", () => {
    const { model, sent, iframe, cleanup, el } = mount();
    expect(model.count()).toBe(3);
    const page = iframe.contentWindow;
    cleanup();
    expect(model.count()).toBe(0);
    expect(el.querySelector("iframe")).toBeNull();
    fromWindow(page, { pytonium: { t: "hello", view: "view:late" } });
    expect(sent).toEqual([]);
  });
});
