"""CEF window host: runs on the CEF runtime's Python 3.7 (stdlib + cefpython3 only).

Started by ``_backends.CefWindow`` as ``python _cef_host.py CONFIG_JSON``.
It talks JSON lines: to the parent over a dup of the original stdout
(``{"event": "ready"}`` once the browser exists, ``{"event": "closed"}`` when
the window closes, ``{"event": "title", "title": T}`` when the page's title
changes), from the parent on stdin (``close``, or ``{"load": URL, "inject": JS}``). Stdin EOF means the
parent is gone: the window closes, so no orphan is left. fd 1 is moved to
stderr first so the engine's own output cannot corrupt the protocol stream.
Keep this file Python 3.7 syntax.
"""

import json
import os
import sys
import threading


def main():
    config = json.loads(sys.argv[1])
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def tell(event, **details):
        try:
            channel.write(json.dumps(dict(details, event=event)) + "\n")
            channel.flush()
        except (OSError, ValueError):
            pass

    from cefpython3 import cefpython as cef

    devtools = config.get("devtools_port")
    settings = {
        "remote_debugging_port": int(devtools) if devtools else -1,
        "log_severity": cef.LOGSEVERITY_ERROR if config.get("debug") else cef.LOGSEVERITY_DISABLE,
        "log_file": "",
        "context_menu": {"enabled": bool(config.get("debug"))},
    }
    switches = {"disable-gpu": "", "disable-gpu-compositing": ""}
    sys.excepthook = cef.ExceptHook
    if cef.Initialize(settings, switches) is False:  # seen under heavy load; the parent retries once
        sys.stderr.write("cef.Initialize() failed (is the X display reachable?)\n")
        sys.exit(3)

    state = {"browser": None, "closed": False, "inject": None}
    if config.get("inject_file"):
        with open(config["inject_file"], encoding="utf-8") as f:
            state["inject"] = f.read()  # the runtime for allowed origins; it checks location.origin itself

    class Client:
        def OnLoadStart(self, browser, frame, **_):
            # CEF 66 offers no "before the page's scripts" hook to Python: the script arrives as
            # the document starts, and pages wait for PytoniumReady (as the spec's do).
            if state["inject"] is not None and frame.IsMain():
                frame.ExecuteJavascript(state["inject"])

        def OnTitleChange(self, browser, title, **_):
            # CEF 66 does not title its X window after the page: the parent does (and hides the token).
            tell("title", title=title)

        def OnBeforeClose(self, browser, **_):
            if not state["closed"]:
                state["closed"] = True
                tell("closed")
                cef.QuitMessageLoop()

    def close_window():
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            browser.CloseBrowser(True)
        elif not state["closed"]:
            state["closed"] = True
            cef.QuitMessageLoop()

    def load(url, inject):
        if inject is not None:
            state["inject"] = inject  # kept for later pages, as chromium keeps its scripts
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            browser.LoadUrl(url)

    def read_commands():
        for line in sys.stdin:
            if line.strip() == "close":
                break
            if line.startswith("{"):  # {"load": url, "inject": script or null}
                command = json.loads(line)
                cef.PostTask(cef.TID_UI, load, command["load"], command.get("inject"))
        cef.PostTask(cef.TID_UI, close_window)

    client = Client()  # a strong reference: cefpython keeps weak ones
    window_info = cef.WindowInfo()
    width, height = int(config["width"]), int(config["height"])
    window_info.SetAsChild(0, [0, 0, width, height])
    browser = cef.CreateBrowserSync(window_info, url="about:blank", window_title=config.get("title") or "Pytonium")
    browser.SetClientHandler(client)
    state["browser"] = browser
    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    browser.LoadUrl(config["url"])
    tell("ready")
    cef.MessageLoop()
    state["browser"] = None
    del browser
    cef.Shutdown()


if __name__ == "__main__":
    main()
