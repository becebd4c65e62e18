"""A class in a notebook: its URL, a QR code of it, and the live client count (a StateWidget page).

The count comes from the class's client list, which the server keeps in the
store (``pytonium.classroom.<session id>``), so the view is an ordinary page on
the ordinary protocol, and the inspector shows the list too.
"""

from __future__ import annotations

import html
import json
import logging

__all__ = ["class_page", "qr_svg"]

log = logging.getLogger("pytonium_lab")

MISSING_QR = "pip install 'pytonium_lab[classroom]' to show a QR code of the URL (it needs segno)"


def qr_svg(url: str) -> str | None:
    """An inline SVG of the QR code of ``url`` (None without segno: the classroom extra)."""
    try:
        import segno
    except ImportError:
        return None
    return str(segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#111"))


def class_page(url: str, namespace: str) -> str:
    """The notebook view's page: the URL (a link), its QR code, and how many clients are connected now."""
    svg = qr_svg(url)
    qr = svg if svg is not None else f'<p class="note">{html.escape(MISSING_QR)}</p>'
    link = html.escape(url)
    return f"""<!doctype html><html><head><style>
body {{ font: 14px system-ui, sans-serif; margin: 8px; display: flex; gap: 16px; align-items: center; }}
a {{ word-break: break-all; }} .count {{ font-size: 28px; font-weight: 600; }} .note {{ color: #a40; }}
</style></head><body>
<div class="qr">{qr}</div>
<div><div><span class="count" id="count">0</span> connected</div>
<div><a href="{link}" target="_blank" rel="noopener">{link}</a></div></div>
<script>
  const ns = {json.dumps(namespace)};
  const show = (list) => {{ document.getElementById("count").textContent = String((list || []).length); }};
  document.addEventListener("clients", (e) => show(e.detail.removed ? [] : e.detail.value));
  Pytonium.appState.registerForStateUpdates("clients", [ns], true, true);
</script></body></html>"""
