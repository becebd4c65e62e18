"""Anchor for bench/desktop.py: a raw cefpython3 JavaScript-binding round trip.

Runs on the CEF runtime's Python 3.7 (stdlib + cefpython3). Python calls a JS
function (``ExecuteFunction``) that calls a bound Python function back: the
same Python -> JS -> Python trip the desktop bench times, with the same clock
(``time.perf_counter``; JS timers are coarsened to 0.1 ms in Chromium 66).
Prints one JSON line: {"round_trip_ms": [...]}.

``python _cef_binding_anchor.py URL`` instead opens the bare page ``URL`` and
runs until killed (the cold-start anchor of the cefpython3 engine).
"""

import json
import os
import sys
import time

from cefpython3 import cefpython as cef

PAGE_URL = sys.argv[1] if len(sys.argv) > 1 and "://" in sys.argv[1] else None
N = int(sys.argv[1]) if len(sys.argv) > 1 and PAGE_URL is None else 2000
WARMUP = 200

PAGE = """<html><body><script>
function ping(i) { py_pong(i); }
window.onload = function () { py_pong(-1); };
</script></body></html>"""


def main():
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    cef.Initialize(
        {"remote_debugging_port": -1, "log_severity": cef.LOGSEVERITY_DISABLE},
        {"disable-gpu": "", "disable-gpu-compositing": ""},
    )
    browser = cef.CreateBrowserSync(url=PAGE_URL or "about:blank", window_title="anchor")
    if PAGE_URL is not None:
        cef.MessageLoop()  # the bench kills it
        return

    times = []
    state = {"t": 0.0}

    def py_pong(i):
        now = time.perf_counter()
        if i >= WARMUP:
            times.append((now - state["t"]) * 1000)
        if i + 1 < N + WARMUP:
            state["t"] = time.perf_counter()
            browser.ExecuteFunction("ping", i + 1)
        else:
            out.write(json.dumps({"round_trip_ms": times}) + "\n")
            out.flush()
            browser.CloseBrowser(True)

    class Lifespan:
        def OnBeforeClose(self, **_):
            cef.QuitMessageLoop()

    bindings = cef.JavascriptBindings()
    bindings.SetFunction("py_pong", py_pong)
    browser.SetJavascriptBindings(bindings)
    lifespan = Lifespan()
    browser.SetClientHandler(lifespan)
    import base64

    browser.LoadUrl("data:text/html;base64," + base64.b64encode(PAGE.encode()).decode())
    cef.MessageLoop()
    browser = None  # cefpython asks that no browser reference be left at Shutdown
    cef.Shutdown()


if __name__ == "__main__":
    main()
