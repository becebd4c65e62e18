"""cefpython3 window host (the ``cefpython3`` engine): CEF 66 on the runtime's Python 3.7.

Started by ``_backends.Cefpython3Window`` as ``python _cefpython3_host.py CONFIG_JSON``
on the Python 3.7 venv that ``pytonium-lab setup-cef`` makes (cefpython3's
last Linux wheel), in its own process group. It speaks the protocol of
``_host_channel`` (ready, closed, beats from the UI thread; close and load on stdin).
Keep this file Python 3.7 syntax.
"""

import json
import sys

from _host_channel import DEFAULT_TITLE, Channel, WindowTitle, shown_title  # a sibling file: run as a script


def main():
    config = json.loads(sys.argv[1])
    channel = Channel()

    from cefpython3 import cefpython as cef

    debug = bool(config.get("debug"))
    default_title = config.get("title") or DEFAULT_TITLE
    devtools = config.get("devtools_port")
    settings = {
        "remote_debugging_port": int(devtools) if devtools else -1,
        "log_severity": cef.LOGSEVERITY_ERROR if debug else cef.LOGSEVERITY_DISABLE,
        "log_file": "",
        "context_menu": {"enabled": debug},
    }
    switches = {"disable-gpu": "", "disable-gpu-compositing": ""}
    sys.excepthook = cef.ExceptHook
    if cef.Initialize(settings, switches) is False:  # seen under heavy load; the parent retries once
        sys.stderr.write("cef.Initialize() failed (is the X display reachable?)\n")
        sys.exit(3)

    state = {"browser": None, "closed": False, "title": default_title, "inject": None}
    if config.get("inject_file"):
        with open(config["inject_file"], encoding="utf-8") as f:
            state["inject"] = f.read()  # the runtime for allowed origins; it checks location.origin itself
    titles = WindowTitle()

    class Client:
        def OnLoadStart(self, browser, frame, **_):
            # CEF 66 offers no "before the page's scripts" hook to Python: the script arrives as
            # the document starts, and pages wait for PytoniumReady (as the spec's do).
            if state["inject"] is not None and frame.IsMain():
                frame.ExecuteJavascript(state["inject"])

        def OnTitleChange(self, browser, title, **_):
            shown = shown_title(title, browser.GetUrl(), default_title)
            if shown != state["title"]:
                state["title"] = shown
                titles.set(browser.GetWindowHandle(), shown)

        def OnBeforeClose(self, browser, **_):
            if not state["closed"]:
                state["closed"] = True
                channel.tell("closed")
                cef.QuitMessageLoop()

    def close_window():
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            browser.CloseBrowser(True)
        elif not state["closed"]:
            state["closed"] = True
            cef.QuitMessageLoop()

    def load(url, inject):  # load_url, on the UI thread
        if inject is not None:
            state["inject"] = inject  # kept for later pages, as chromium keeps its scripts
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            browser.LoadUrl(url)

    def post(function):
        cef.PostTask(cef.TID_UI, function)

    client = Client()  # a strong reference: cefpython keeps weak ones
    window_info = cef.WindowInfo()
    width, height = int(config["width"]), int(config["height"])
    window_info.SetAsChild(0, [0, 0, width, height])
    browser = cef.CreateBrowserSync(window_info, url="about:blank", window_title=default_title)
    browser.SetClientHandler(client)
    state["browser"] = browser
    channel.on_commands(lambda: post(close_window), lambda url, inject: post(lambda: load(url, inject)))
    channel.beat_from(post)
    browser.LoadUrl(config["url"])
    channel.tell("ready", window=browser.GetWindowHandle())
    cef.MessageLoop()
    state["browser"] = None
    del browser
    cef.Shutdown()


if __name__ == "__main__":
    main()
