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
    expect(model.count()).toBe(5); // 3 of the view, 2 of the model's mirror
    const page = iframe.contentWindow;
    cleanup();
    expect(model.count()).toBe(2); // the mirror lives as long as the model
    expect(el.querySelector("iframe")).toBeNull();
    fromWindow(page, { pytonium: { t: "hello", view: "view:late" } });
    expect(sent).toEqual([]);
  });
});

describe("views start without the kernel", () => {
  it("a page's hello is answered at once from the model's mirror, and still asked of the kernel", () => {
    const boot = { t: "snapshot", to: null, seq: 0, rev: 1, namespaces: null, state: { a: { k: 1 } }, ack: 0 };
    const { model, sent, iframe } = mount({ _srcdoc: "<p>hi</p>", height: "300px", _boot: boot });
    const post = vi.spyOn(iframe.contentWindow!, "postMessage").mockImplementation(() => {});
    model.emit("msg:custom", { t: "batch", seq: 1, changes: [{ ns: "a", key: "k", value: 2, removed: false, origin: "python", rev: 2 }] }, []);
    fromWindow(iframe.contentWindow, { pytonium: { t: "hello", view: "view:late" } });
    expect(sent).toEqual([{ t: "hello", view: "view:late" }]);
    const answer = post.mock.calls[post.mock.calls.length - 1][0] as { pytonium: { to: string; seq: number; state: unknown } };
    expect(answer.pytonium).toMatchObject({ t: "snapshot", to: "view:late", seq: 1, state: { a: { k: 2 } } });
  });

  it("without a boot snapshot the hello goes to the kernel", () => {
    const { sent, iframe } = mount();
    fromWindow(iframe.contentWindow, { pytonium: { t: "hello", view: "view:abc" } });
    expect(sent).toEqual([{ t: "hello", view: "view:abc" }]);
  });
});
