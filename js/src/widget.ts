/**
 * The anywidget front end (host side, e.g. JupyterLab): shows the page in an
 * `<iframe sandbox="allow-scripts">` and relays protocol messages both ways.
 *
 * No `allow-same-origin`: the page must not reach JupyterLab. The relay does not
 * read messages: store -> view messages for other views are forwarded too, and the
 * runtime in the iframe ignores them.
 */

import type { AnyWidget, RenderProps } from "@anywidget/types";

export interface WidgetModel {
  _srcdoc: string;
  height: string;
}

function render({ model, el }: Pick<RenderProps<WidgetModel>, "model" | "el">): () => void {
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

export default { render } satisfies AnyWidget<WidgetModel>;
