/**
 * The anywidget front end (host side, e.g. JupyterLab): shows the page in an
 * `<iframe sandbox="allow-scripts">` and relays protocol messages both ways.
 *
 * No `allow-same-origin`: the page must not reach JupyterLab. Store -> view
 * messages go to every view (a view ignores what is addressed to another).
 * A page's `hello` is answered at once by the model's own mirror (relay.ts), so
 * views start even while the kernel is busy, and it still goes to the kernel,
 * whose answer follows when it is free, like every other page message.
 */

import type { AnyWidget, RenderProps } from "@anywidget/types";
import type { Snapshot, StoreMessage, ViewMessage } from "./protocol";
import { ModelMirror } from "./relay";

export interface WidgetModel {
  _srcdoc: string;
  height: string;
  _boot: Snapshot;
}

type Model = Pick<RenderProps<WidgetModel>, "model">["model"];

const mirrors = new WeakMap<object, ModelMirror>();

/** One mirror per model, fed from the model's creation on (anywidget's `initialize`). */
function mirrorOf(model: Model): ModelMirror {
  let mirror = mirrors.get(model);
  if (!mirror) {
    const made = new ModelMirror((msg: ViewMessage) => model.send(msg));
    made.load(model.get("_boot"));
    model.on("change:_boot", () => made.load(model.get("_boot")));
    model.on("msg:custom", (msg: StoreMessage) => made.receive(msg));
    mirrors.set(model, (mirror = made));
  }
  return mirror;
}

function initialize({ model }: { model: Model }): void {
  mirrorOf(model);
}

function render({ model, el }: Pick<RenderProps<WidgetModel>, "model" | "el">): () => void {
  const mirror = mirrorOf(model);
  el.classList.add("pytonium-lab-view");
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("data-pytonium-view", ""); // becomes the view id at its hello
  iframe.style.width = "100%";
  iframe.style.border = "none";

  const onHeight = (): void => {
    iframe.style.height = model.get("height") || "400px";
  };
  const onSrcdoc = (): void => {
    iframe.srcdoc = model.get("_srcdoc") || "";
  };
  const fromPage = (event: MessageEvent): void => {
    if (event.source === null || event.source !== iframe.contentWindow) return;
    const data = event.data;
    if (data === null || typeof data !== "object" || !("pytonium" in data)) return;
    const msg = data.pytonium;
    if (msg && msg.t === "hello" && typeof msg.view === "string") {
      iframe.setAttribute("data-pytonium-view", msg.view);
      // Start the view now from the model's mirror; the kernel's own answer follows
      // when it is free and corrects the view if the mirror was behind (a reload).
      const snapshot = mirror.snapshotFor(msg.view);
      if (snapshot) fromStore(snapshot);
    }
    model.send(msg);
  };
  const fromStore = (msg: unknown): void => {
    const page = iframe.contentWindow;
    if (page) page.postMessage({ pytonium: msg }, "*");
  };

  // Listen before the page loads: its runtime says hello from the first <script>.
  window.addEventListener("message", fromPage);
  model.on("msg:custom", fromStore);
  model.on("change:_srcdoc", onSrcdoc);
  model.on("change:height", onHeight);
  onHeight();
  el.appendChild(iframe);
  onSrcdoc();

  return () => {
    window.removeEventListener("message", fromPage);
    model.off("msg:custom", fromStore);
    model.off("change:_srcdoc", onSrcdoc);
    model.off("change:height", onHeight);
    iframe.remove();
  };
}

export default { initialize, render } satisfies AnyWidget<WidgetModel>;
