import { afterEach, describe, expect, it, vi } from "vitest";
import widget, { DISCONNECTED_TEXT } from "../src/widget";

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

/** A window message from `source` offering `ports` (the page's first message, transports/postmessage.ts). */
function offer(source: unknown, ports: unknown[], data: unknown = { pytoniumPort: 1 }) {
  const event = new MessageEvent("message", { data, source: source as Window });
  Object.defineProperty(event, "ports", { value: ports });
  window.dispatchEvent(event);
}

/** The page's end of a channel: what the widget posts to it, and a way to send as the page. */
function fakePort() {
  const posted: unknown[] = [];
  const port = {
    onmessage: null as null | ((e: { data: unknown }) => void),
    postMessage: (msg: unknown) => posted.push(msg),
    close: vi.fn(),
  };
  const send = (msg: unknown) => port.onmessage!({ data: msg });
  return { port, posted, send };
}

/** The page in `iframe` connects: it offers a port of its own. */
function connect(iframe: HTMLIFrameElement) {
  const page = fakePort();
  offer(iframe.contentWindow, [page.port]);
  return page;
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

  it("takes a port only from its own iframe's page, and relays what comes over it to the model", () => {
    const { iframe, sent } = mount();
    const other = document.createElement("iframe");
    document.body.appendChild(other);
    const hello = { t: "hello", view: "view:abc" };
    const stranger = fakePort();
    offer(other.contentWindow, [stranger.port]); // another frame
    offer(iframe.contentWindow, [stranger.port], { notOurs: 1 });
    offer(iframe.contentWindow, [stranger.port], "text");
    offer(iframe.contentWindow, []); // an offer without its port
    offer(iframe.contentWindow, [stranger.port, fakePort().port]);
    expect(stranger.port.onmessage).toBeNull();
    const page = connect(iframe);
    page.send(hello);
    page.send(null);
    page.send("text");
    expect(sent).toEqual([hello]);
    expect(iframe.getAttribute("data-pytonium-view")).toBe("view:abc");
  });

  it("relays store messages to the page, including ones for other views", () => {
    const { model, iframe } = mount();
    const batch = { t: "batch", seq: 1, changes: [] };
    model.emit("msg:custom", batch, []); // before the page connected: nobody listens yet
    const page = connect(iframe);
    const other = { t: "snapshot", to: "view:other", seq: 1, rev: 0, namespaces: null, state: {} };
    model.emit("msg:custom", batch, []);
    model.emit("msg:custom", other, []);
    expect(page.posted).toEqual([batch, other]);
  });

  it("a reloaded page's port replaces the one before, which is closed", () => {
    const { model, iframe, sent } = mount();
    const first = connect(iframe);
    model.set("_srcdoc", "<p>saved again</p>");
    const second = connect(iframe);
    expect(first.port.close).toHaveBeenCalledTimes(1);
    model.emit("msg:custom", { t: "batch", seq: 1, changes: [] }, []);
    expect(first.posted).toEqual([]);
    expect(second.posted).toEqual([{ t: "batch", seq: 1, changes: [] }]);
    second.send({ t: "hello", view: "view:again" });
    expect(sent).toEqual([{ t: "hello", view: "view:again" }]);
  });

  it("follows changes of _srcdoc, height and width", () => {
    const { model, iframe } = mount();
    model.set("_srcdoc", "<p>new</p>");
    model.set("height", "12em");
    model.set("width", "320px");
    expect(iframe.srcdoc).toBe("<p>new</p>");
    expect(iframe.style.height).toBe("12em");
    expect(iframe.style.width).toBe("320px");
  });

  it("is as wide as its width says", () => {
    const { iframe } = mount({ _srcdoc: "<p>hi</p>", height: "80px", width: "250px" });
    expect(iframe.style.width).toBe("250px");
  });

  it("cleanup removes every listener and the iframe", () => {
    const { model, sent, iframe, cleanup, el } = mount();
    expect(model.count()).toBe(8); // 6 of the view, 2 of the model's mirror
    const frame = iframe.contentWindow;
    const page = connect(iframe);
    cleanup();
    expect(model.count()).toBe(2); // the mirror lives as long as the model
    expect(el.querySelector("iframe")).toBeNull();
    expect(page.port.close).toHaveBeenCalledTimes(1);
    const late = fakePort();
    offer(frame, [late.port]);
    expect(late.port.onmessage).toBeNull();
    expect(sent).toEqual([]);
  });
});

describe("views start without the kernel", () => {
  it("a page's hello is answered at once from the model's mirror, and still asked of the kernel", () => {
    const boot = { t: "snapshot", to: null, seq: 0, rev: 1, namespaces: null, state: { a: { k: 1 } }, ack: 0 };
    const { model, sent, iframe } = mount({ _srcdoc: "<p>hi</p>", height: "300px", _boot: boot });
    model.emit("msg:custom", { t: "batch", seq: 1, changes: [{ ns: "a", key: "k", value: 2, removed: false, origin: "python", rev: 2 }] }, []);
    const page = connect(iframe);
    page.send({ t: "hello", view: "view:late" });
    expect(sent).toEqual([{ t: "hello", view: "view:late" }]);
    expect(page.posted[page.posted.length - 1]).toMatchObject({ t: "snapshot", to: "view:late", seq: 1, state: { a: { k: 2 } } });
  });

  it("without a boot snapshot the hello goes to the kernel", () => {
    const { sent, iframe } = mount();
    connect(iframe).send({ t: "hello", view: "view:abc" });
    expect(sent).toEqual([{ t: "hello", view: "view:abc" }]);
  });
});

type Slot = (sender: unknown, value: unknown) => void;
function fakeSignal() {
  const slots: Slot[] = [];
  return {
    connect: (fn: Slot) => (slots.push(fn), true),
    disconnect: (fn: Slot) => (slots.splice(slots.indexOf(fn), 1), true),
    emit: (value: unknown) => slots.slice().forEach((fn) => fn(null, value)),
    slots,
  };
}

let uids = 0;

/** initialize + render on one model (as a host does), with an optional JupyterLab-like session. */
function mountLinked(extra: Record<string, unknown> = {}) {
  const boot = { t: "snapshot", to: null, seq: 0, rev: 1, namespaces: null, state: { demo: { count: 2 } }, ack: 0 };
  const values = { _uid: "uid" + ++uids, _srcdoc: "<p>hi</p>", height: "120px", _boot: boot, ...extra };
  const { model, sent } = fakeModel(values);
  const session = { kernelChanged: fakeSignal(), statusChanged: fakeSignal() };
  (model as Record<string, unknown>).widget_manager = { context: { sessionContext: session } };
  const init = widget.initialize as unknown as (p: { model: unknown }) => () => void;
  const destroyed = init({ model });
  const render = widget.render as unknown as (p: { model: unknown; el: HTMLElement }) => () => void;
  const show = () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    const cleanup = render({ model, el });
    const iframe = el.querySelector("iframe")!;
    const page = connect(iframe);
    return { el, iframe, cleanup, page, posted: () => page.posted };
  };
  return { model, sent, session, destroyed, show };
}

const banner = (el: HTMLElement) => el.querySelector(".pytonium-lab-disconnected") as HTMLElement | null;

describe("a view whose kernel or comm is gone", () => {
  it("a kernel restart (comm_live_update) draws the banner over the page and tells the page", () => {
    const { model, show } = mountLinked();
    const { el, iframe, posted } = show();
    expect(banner(el)).toBeNull();
    model.emit("comm_live_update");
    const b = banner(el)!;
    expect(b.textContent).toBe(DISCONNECTED_TEXT);
    expect(b.getAttribute("role")).toBe("alert");
    expect(b.parentElement).toBe(el); // outside the sandboxed iframe, over it
    expect(b.style.position).toBe("absolute");
    expect(el.style.position).toBe("relative");
    expect(iframe.contentWindow!.document.contains(b)).toBe(false);
    expect(posted()).toEqual([{ t: "disconnected" }]);
    model.emit("comm_live_update"); // once only
    expect(el.querySelectorAll(".pytonium-lab-disconnected").length).toBe(1);
    expect(posted()).toEqual([{ t: "disconnected" }]);
  });

  it("drops the page's messages once gone: nothing is sent to a dead comm", () => {
    const { model, sent, show } = mountLinked();
    const { page } = show();
    model.emit("comm_live_update");
    page.send({ t: "set", view: "view:a", ns: "demo", key: "count", value: 3, id: 1 });
    expect(sent).toEqual([]);
  });

  it("every display of the model shows it, and one displayed later starts disconnected", () => {
    const { model, sent, show } = mountLinked();
    const first = show();
    model.emit("destroy"); // the comm closed
    expect(banner(first.el)).not.toBeNull();
    const later = show();
    expect(banner(later.el)).not.toBeNull();
    // Its page's hello is answered from the mirror (the last state it knew), then told.
    later.page.send({ t: "hello", view: "view:late" });
    const got = later.posted();
    expect(got[got.length - 2]).toMatchObject({ t: "snapshot", to: "view:late", state: { demo: { count: 2 } } });
    expect(got[got.length - 1]).toEqual({ t: "disconnected" });
    expect(sent).toEqual([]);
  });

  it("a send that throws (no event from the host) disconnects the view", () => {
    const { model, show } = mountLinked();
    const { el, page, posted } = show();
    (model as Record<string, unknown>).send = () => {
      throw new Error("Cannot send");
    };
    page.send({ t: "set", view: "view:a", ns: "demo", key: "count", value: 3, id: 1 });
    expect(banner(el)!.textContent).toBe(DISCONNECTED_TEXT);
    expect(posted()).toEqual([{ t: "disconnected" }]);
  });

  it("JupyterLab's session context: a kernel shut down, changed or restarting disconnects", () => {
    for (const emit of [
      (s: ReturnType<typeof mountLinked>["session"]) => s.kernelChanged.emit({ oldValue: {}, newValue: null }),
      (s: ReturnType<typeof mountLinked>["session"]) => s.statusChanged.emit("dead"),
      (s: ReturnType<typeof mountLinked>["session"]) => s.statusChanged.emit("autorestarting"),
    ]) {
      const { session, show } = mountLinked();
      const { el } = show();
      session.statusChanged.emit("busy");
      session.statusChanged.emit("idle");
      expect(banner(el)).toBeNull();
      emit(session);
      expect(banner(el)).not.toBeNull();
    }
  });

  it("the model's cleanup (anywidget: model destroyed) stops watching the session", () => {
    const { session, destroyed } = mountLinked();
    expect(session.kernelChanged.slots.length).toBe(1);
    expect(session.statusChanged.slots.length).toBe(1);
    destroyed();
    expect(session.kernelChanged.slots.length).toBe(0);
    expect(session.statusChanged.slots.length).toBe(0);
  });

  it("a view's cleanup removes the banner and its listeners", () => {
    const { model, show } = mountLinked();
    const { el, cleanup } = show();
    model.emit("comm_live_update");
    cleanup();
    expect(banner(el)).toBeNull();
    expect(el.querySelector("iframe")).toBeNull();
  });

  it("a live view has no banner and its writes reach the kernel", () => {
    const { sent, show } = mountLinked();
    const { el, page } = show();
    const write = { t: "set", view: "view:a", ns: "demo", key: "count", value: 3, id: 1 };
    page.send(write);
    expect(sent).toEqual([write]);
    expect(banner(el)).toBeNull();
  });
});
