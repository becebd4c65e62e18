"""The runtime as injected: one line, named, so the page log can tell its frames from the page's."""

from __future__ import annotations

import re
from pathlib import Path

from pytonium_lab._page import RUNTIME_URL, inject_runtime, runtime_source


def test_the_injected_runtime_is_one_named_line_and_js_knows_the_name() -> None:
    source = runtime_source()
    assert "\n" not in source  # the page's scripts keep their line numbers
    assert source.endswith("//# sourceURL=" + RUNTIME_URL)
    pagelog = (Path(__file__).parents[2] / "js" / "src" / "pagelog.ts").read_text()
    assert re.search(r'export const RUNTIME_URL = "([^"]+)";', pagelog).group(1) == RUNTIME_URL
    html = inject_runtime("<html><head></head><body>\n<script>x()</script></body></html>", {"transport": "postMessage"})
    assert html.count("\n") == 1 and html.index("sourceURL") < html.index("</head>")
