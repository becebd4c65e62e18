/**
 * The anywidget front end (host side, e.g. JupyterLab): shows the page in an
 * `<iframe sandbox="allow-scripts">` and relays protocol messages both ways.
 *
 * No `allow-same-origin`: the page must not reach JupyterLab. Store -> view
 * messages go to every view (a view ignores what is addressed to another).
 * A page's `hello` is answered at once by the model's own mirror (relay.ts), so
 * views start even while the kernel is busy, and it still goes to the kernel,
 * whose answer follows when it is free, like every other page message.
 *
 * A view whose kernel or comm is gone says so: JupyterLab's widget manager sets
 * every model's `comm_live` to false when the kernel restarts (the model fires
 * `comm_live_update`, and `model.send` throws "Cannot send" from then on), and a
 * closed comm destroys the model (`destroy`); a kernel shut down fires no model
 * event, but the notebook's session context says `kernelChanged`. On any of
 * these (or a `model.send` that throws) the view draws a
 * banner over the page (outside the sandboxed iframe), drops the page's further
 * messages, and posts `{"t":"disconnected"}` to the page, whose runtime then
 * refuses writes (docs/protocol.md).
 */

import type { AnyWidget, RenderProps } from "@anywidget/types";
import type { Snapshot, StoreMessage, ViewMessage } from "./protocol";
import { logPanel } from "./logpanel";
import { recordOf, relayView, type ModelRecord } from "./relay";
import { offeredPort } from "./transports/postmessage";

export interface WidgetModel {
  _uid: string;
  _srcdoc: string;
  height: string;
  width: string;
  _boot: Snapshot;
}

type Model = Pick<RenderProps<WidgetModel>, "model">["model"];

export const DISCONNECTED_TEXT = "Disconnected from the kernel: re-run the cell to reconnect";

/** Mark the model's link gone and tell every display of it (once). */
function markGone(live: ModelRecord): void {
  if (live.gone) return;
  live.gone = true;
  live.views.forEach((fn) => fn());
}

/**
 * Listen for the host's signs that nothing listens any more. `comm_live_update`
 * carries no value and the proxy hides `comm_live`, but JupyterLab's manager fires
 * it after a model exists only to set it false (kernel restarting).
 */
function watchHost(model: Model, onGone: () => void): void {
  model.on("comm_live_update", onGone);
  model.on("destroy", onGone);
}

/** A Lumino signal, as JupyterLab's session context has them. */
type Signal<T> = { connect(fn: (sender: unknown, value: T) => void): boolean; disconnect(fn: (sender: unknown, value: T) => void): boolean };
type SessionContext = { kernelChanged?: Signal<unknown>; statusChanged?: Signal<string> };

/**
 * JupyterLab's notebook widget manager also gives its document context: a kernel
 * shut down fires no model event at all (only `model.send` throws), but the
 * session context says `kernelChanged`. Any other kernel than the one the model's
 * comm lives on means nothing listens. Returns a function that stops watching.
 */
function watchSession(model: Model, onGone: () => void): () => void {
  const manager = (model as unknown as { widget_manager?: { context?: { sessionContext?: SessionContext } } }).widget_manager;
  let session: SessionContext | undefined;
  try {
    session = manager && manager.context && manager.context.sessionContext;
  } catch (err) {
    session = undefined; // a host whose manager has no context
  }
  const kernel = session && session.kernelChanged;
  const status = session && session.statusChanged;
  if (!kernel || typeof kernel.connect !== "function") return () => {};
  const onKernel = (): void => onGone();
  const onStatus = (_sender: unknown, value: string): void => {
    if (value === "restarting" || value === "autorestarting" || value === "dead") onGone();
  };
  kernel.connect(onKernel);
  if (status && typeof status.connect === "function") status.connect(onStatus);
  return () => {
    kernel.disconnect(onKernel);
    if (status && typeof status.disconnect === "function") status.disconnect(onStatus);
  };
}

/** The banner over a disconnected view: covers the page, so it cannot be clicked. */
function disconnectedBanner(): HTMLElement {
  const veil = document.createElement("div");
  veil.className = "pytonium-lab-disconnected";
  veil.setAttribute("role", "alert");
  veil.title = DISCONNECTED_TEXT;
  veil.style.cssText =
    "position:absolute;top:0;left:0;right:0;bottom:0;z-index:10;display:flex;align-items:flex-start;" +
    "justify-content:center;background:rgba(128,128,128,0.45);cursor:not-allowed";
  const text = document.createElement("div");
  text.className = "pytonium-lab-disconnected-text";
  text.textContent = DISCONNECTED_TEXT;
  text.style.cssText =
    "margin-top:8px;padding:6px 12px;border-radius:4px;background:#b3261e;color:#fff;" +
    "font:600 13px/1.4 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3)";
  veil.appendChild(text);
  return veil;
}

/** Make the model's mirror as soon as the model exists, so it hears every batch. */
function initialize({ model }: { model: Model }): () => void {
  const { record: live, forget } = recordOf(model);
  watchHost(model, () => markGone(live));
  const unwatch = watchSession(model, () => markGone(live));
  return () => {
    markGone(live); // anywidget calls this when the model is destroyed (its comm closed)
    unwatch();
    forget();
  };
}

function render({ model, el }: Pick<RenderProps<WidgetModel>, "model" | "el">): () => void {
  const { record: live } = recordOf(model);
  const mirror = live.mirror;
  el.classList.add("pytonium-lab-view");
  if (!el.style.position) el.style.position = "relative"; // the banner's box
  const iframe = document.createElement("iframe");
  const panel = logPanel(document); // the page's errors, under it
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("data-pytonium-view", ""); // becomes the view id at its hello
  iframe.style.border = "none";

  const onSize = (): void => {
    iframe.style.width = model.get("width") || "100%";
    iframe.style.height = model.get("height") || "400px";
  };
  const onSrcdoc = (): void => {
    iframe.srcdoc = model.get("_srcdoc") || "";
  };
  // The page's end of its channel (transports/postmessage.ts): offered by each page the
  // iframe loads; until the first offer, nothing listens in the iframe anyway.
  let port: MessagePort | null = null;
  const toPage = (msg: unknown): void => {
    if (port !== null) port.postMessage(msg);
  };
  let banner: HTMLElement | null = null;
  /** This display's part: markGone runs it once, for every display of the model. */
  const showGone = (): void => {
    banner = disconnectedBanner();
    el.appendChild(banner);
    toPage({ t: "disconnected" });
  };
  const disconnect = (): void => markGone(live);
  const toKernel = (msg: ViewMessage): void => {
    if (live.gone) return; // nothing listens: the page has been told
    try {
      model.send(msg);
    } catch (err) {
      // A host that fired no event: JupyterLab's comm throws "Cannot send" once the kernel restarted.
      disconnect();
    }
  };
  const relay = relayView(mirror, toPage, toKernel, (view) => iframe.setAttribute("data-pytonium-view", view));
  const fromPage = (msg: ViewMessage): void => {
    if (msg === null || typeof msg !== "object") return;
    if (msg.t === "log") panel.add(msg); // shown here at once, even while the kernel is busy
    relay.fromPage(msg);
    // A page that starts (or reloads) after the link went: its snapshot came from the mirror.
    if (live.gone && msg.t === "hello") toPage({ t: "disconnected" });
  };
  /** A page (loaded or reloaded) offers its port: from then on it is the page's only channel. */
  const onOffer = (event: MessageEvent): void => {
    const offered = offeredPort(event, iframe.contentWindow);
    if (offered === null) return;
    if (port !== null) port.close(); // the page before a reload
    port = offered;
    port.onmessage = (message: MessageEvent) => fromPage(message.data as ViewMessage);
  };
  const fromStore = (msg: StoreMessage): void => relay.fromStore(msg);

  // Listen before the page loads: its runtime connects from the first <script>.
  window.addEventListener("message", onOffer);
  model.on("msg:custom", fromStore);
  model.on("change:_srcdoc", onSrcdoc);
  model.on("change:height", onSize);
  model.on("change:width", onSize);
  watchHost(model, disconnect);
  live.views.add(showGone);
  onSize();
  el.appendChild(iframe);
  el.appendChild(panel.el);
  onSrcdoc();
  if (live.gone) showGone(); // made after the link went: markGone has run already

  return () => {
    window.removeEventListener("message", onOffer);
    if (port !== null) port.close();
    model.off("msg:custom", fromStore);
    model.off("change:_srcdoc", onSrcdoc);
    model.off("change:height", onSize);
    model.off("change:width", onSize);
    model.off("comm_live_update", disconnect);
    model.off("destroy", disconnect);
    live.views.delete(showGone);
    iframe.remove();
    panel.el.remove();
    if (banner) banner.remove();
  };
}

export default { initialize, render } satisfies AnyWidget<WidgetModel>;
