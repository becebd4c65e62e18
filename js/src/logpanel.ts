/**
 * The page's errors and warnings, listed under a notebook view (outside its iframe).
 *
 * Newest first; an entry that repeats (same level, first line of its message and
 * source: what its line shows) is counted on its line, not listed again, whatever
 * path led there (its stack, shown on hover, is the last one's); at most `keep`
 * distinct entries.
 * Hidden while empty; "clear" empties it.
 */

import type { LogEntry } from "./pagelog";

type Row = { key: string; count: number; el: HTMLElement; badge: HTMLElement };

export interface LogPanel {
  readonly el: HTMLElement;
  add(entry: LogEntry): void;
  clear(): void;
}

export function logPanel(doc: Document, keep = 50): LogPanel {
  const el = doc.createElement("div");
  el.className = "pytonium-lab-log";
  el.style.cssText =
    "display:none;font:12px/1.4 monospace;border-top:1px solid #d0d0d0;max-height:10em;overflow:auto;" +
    "padding:2px 4px;background:#fafafa";
  const head = doc.createElement("div");
  head.style.cssText = "display:flex;justify-content:space-between;color:#555";
  const title = doc.createElement("span");
  const clearButton = doc.createElement("button");
  clearButton.textContent = "clear";
  clearButton.className = "pytonium-lab-log-clear";
  clearButton.style.cssText = "font:inherit;border:none;background:none;color:#06c;cursor:pointer;padding:0";
  head.appendChild(title);
  head.appendChild(clearButton);
  const list = doc.createElement("div");
  el.appendChild(head);
  el.appendChild(list);
  let rows: Row[] = [];
  let dropped = 0;

  function refresh(): void {
    const total = rows.reduce((n, r) => n + r.count, 0);
    title.textContent =
      "page errors and warnings: " + total + (dropped ? " (" + dropped + " more dropped by the rate limit)" : "");
    el.style.display = rows.length ? "block" : "none";
  }

  function clear(): void {
    rows = [];
    dropped = 0;
    list.textContent = "";
    refresh();
  }
  clearButton.addEventListener("click", clear);

  function add(entry: LogEntry): void {
    const first = entry.message.split("\n")[0];
    const key = entry.level + "\u0000" + first + "\u0000" + entry.source;
    let row = rows.find((r) => r.key === key);
    if (row) {
      row.count += 1;
      row.el.title = entry.message;
      rows = [row].concat(rows.filter((r) => r !== row));
    } else {
      const line = doc.createElement("div");
      line.className = "pytonium-lab-log-entry pytonium-lab-log-" + entry.level;
      line.style.cssText = "white-space:pre-wrap;color:" + (entry.level === "error" ? "#b00020" : "#8a6d00");
      const badge = doc.createElement("span");
      badge.className = "pytonium-lab-log-count";
      badge.style.cssText = "margin-left:6px;color:#555";
      line.textContent = (entry.level === "error" ? "error: " : "warning: ") + first +
        (entry.source ? "  (" + entry.source + ")" : "");
      line.title = entry.message; // the whole message (stack) on hover
      line.appendChild(badge);
      row = { key, count: 1, el: line, badge };
      rows.unshift(row);
      if (rows.length > keep) rows.pop()!.el.remove();
    }
    row.badge.textContent = row.count > 1 ? "\u00d7" + row.count : "";
    list.insertBefore(row.el, list.firstChild);
    if (entry.dropped > 0) dropped += entry.dropped;
    refresh();
  }

  return { el, add, clear };
}
