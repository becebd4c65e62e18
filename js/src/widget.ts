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
import { mirrorOf, relayView } from "./relay";

export interface WidgetModel {
  _uid: string;
  _srcdoc: string;
  height: string;
  _boot: Snapshot;
}

type Model = Pick<RenderProps<WidgetModel>, "model">["model"];

/** Make the model's mirror as soon as the model exists, so it hears every batch. */
function initialize({ model }: { model: Model }): () => void {
  return mirrorOf(model).forget;
}

function render({ model, el }: Pick<RenderProps<WidgetModel>, "model" | "el">): () => void {
  const { mirror } = mirrorOf(model);
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
  const toPage = (msg: unknown): void => {
    const page = iframe.contentWindow;
    if (page) page.postMessage({ pytonium: msg }, "*");
  };
  const relay = relayView(mirror, toPage, (msg) => model.send(msg), (view) =>
    iframe.setAttribute("data-pytonium-view", view),
  );
  const fromPage = (event: MessageEvent): void => {
    if (event.source === null || event.source !== iframe.contentWindow) return;
    const data = event.data;
    if (data === null || typeof data !== "object" || !("pytonium" in data)) return;
    relay.fromPage(data.pytonium as ViewMessage);
  };
  const fromStore = (msg: StoreMessage): void => relay.fromStore(msg);

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
