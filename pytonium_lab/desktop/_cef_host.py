"""CEF 131 window host (the ``cef`` engine): cef-capi-py's ctypes binding of CEF's C API.

Started by ``_backends.CefWindow`` as ``python _cef_host.py CONFIG_JSON`` on
the library's own Python, in its own process group: CEF can hang or crash
(cef-capi-py's README says so), and a subprocess keeps that away from the
caller. It speaks the protocol of ``_host_channel`` (ready, closed, beats; close, load).

The browser is an Alloy-style browser in a native X11 window that CEF makes
(no Views framework, no Chrome UI). CEF's render processes run the wheel's
``cefsimple`` helper, so no Python code runs in them: the runtime of an allowed
origin is executed from here as each main-frame document starts (as the
cefpython3 host does); pages wait for ``PytoniumReady``.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._host_channel import DEFAULT_TITLE, Channel, WindowTitle, shown_title
else:  # run as a script (no package): the sibling file is a top-level module
    from _host_channel import DEFAULT_TITLE, Channel, WindowTitle, shown_title


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = Channel()

    from cef_capi import base_ctor, cef_string_ctor, decode_cef_string, handler, header, size_ctor, struct, task_factory
    from cef_capi.app_client import app_ctor, settings_main_args_ctor

    debug = bool(config.get("debug"))
    default_title = config.get("title") or DEFAULT_TITLE
    state: dict[str, Any] = {
        "browser": None,
        "window": 0,
        "closed": False,
        "title": None,
        "page_title": None,
        "inject": None,
    }

    # --disable-gpu, --disable-gpu-compositing, --in-process-gpu: no GPU process to fail or to wait for.
    app = app_ctor(disable_gpu=True)
    settings, main_args = settings_main_args_ctor()
    settings.no_sandbox = 1  # CEF's sandbox needs a setuid helper; the page is our own or an allowed origin
    settings.log_severity = struct.LOGSEVERITY_ERROR if debug else struct.LOGSEVERITY_DISABLE
    profile = os.path.join(os.getcwd(), "profile")  # the window's work dir: removed when the window ends
    settings.root_cache_path = cef_string_ctor(profile)
    settings.cache_path = cef_string_ctor(os.path.join(profile, "cache"))
    devtools = config.get("devtools_port")
    settings.remote_debugging_port = int(devtools) if debug and devtools else 0  # 0: no DevTools server
    if not header.cef_initialize(main_args, settings, app, None):
        sys.stderr.write("cef_initialize() failed (is the X display reachable?)\n")
        sys.exit(3)

    @task_factory
    def run_task(function: Callable[[], None]) -> None:
        function()

    def post(function: Callable[[], None]) -> None:
        header.cef_post_task(header.TID_UI, run_task(function))

    if config.get("inject_file"):
        with open(config["inject_file"], encoding="utf-8") as f:
            # the runtime for allowed origins; it checks location.origin itself
            state["inject"] = cef_string_ctor(f.read())
    titles = WindowTitle()

    def browser_host(browser: Any) -> Any:
        return ctypes.cast(browser.get_host(browser), ctypes.POINTER(struct.cef_browser_host_t)).contents

    def main_frame_url(browser: Any) -> str | None:
        try:
            frame = ctypes.cast(browser.get_main_frame(browser), ctypes.POINTER(struct.cef_frame_t)).contents
            return str(decode_cef_string(frame.get_url(frame), free_after_decode=True))
        except Exception:  # no frame or an empty URL (a NULL string)
            return None

    def show_title(title: str | None) -> None:
        state["page_title"] = title
        browser = state["browser"]
        if browser is None or not state["window"]:
            return  # on_after_created shows it
        shown = shown_title(title, main_frame_url(browser), default_title)
        if shown != state["title"]:
            state["title"] = shown
            titles.set(state["window"], shown)

    client = base_ctor(struct.cef_client_t)

    @handler(client)
    def get_life_span_handler(*_: Any) -> Any:
        life_span = base_ctor(struct.cef_life_span_handler_t)

        @handler(life_span)
        def on_after_created(browser: Any) -> None:
            if state["browser"] is None:
                state["browser"] = browser
                host = browser_host(browser)
                state["window"] = host.get_window_handle(host)
                channel.tell("ready", window=state["window"])
                if state["page_title"] is not None:
                    show_title(state["page_title"])

        @handler(life_span)
        def do_close(browser: Any) -> int:
            return 0  # let CEF close the window (the user's close button, or ours)

        @handler(life_span)
        def on_before_close(browser: Any) -> None:
            if not state["closed"]:
                state["closed"] = True
                state["browser"] = None
                channel.tell("closed")
                header.cef_quit_message_loop()

        return life_span

    @handler(client)
    def get_display_handler(*_: Any) -> Any:
        display = base_ctor(struct.cef_display_handler_t)

        @handler(display)
        def on_title_change(browser: Any, title: Any) -> None:
            show_title(decode_cef_string(title) if title is not None and title.length else None)

        return display

    @handler(client)
    def get_load_handler(*_: Any) -> Any:
        load = base_ctor(struct.cef_load_handler_t)

        @handler(load)
        def on_load_start(browser: Any, frame: Any, transition_type: int) -> None:
            # CEF's C API offers the browser process no "before the page's scripts" hook (that is
            # the render process's OnContextCreated, run by cefsimple here): the runtime arrives as
            # the document starts, and pages wait for PytoniumReady, as the spec's do.
            if state["inject"] is not None and frame.is_main(frame):
                frame.execute_java_script(frame, state["inject"], None, 0)

        return load

    if not debug:

        @handler(client)
        def get_context_menu_handler(*_: Any) -> Any:
            menu = base_ctor(struct.cef_context_menu_handler_t)

            @handler(menu)
            def on_before_context_menu(browser: Any, frame: Any, params: Any, model: Any) -> None:
                model.clear(model)  # no "View source" / "Inspect" in an app window

            return menu

    def close_window() -> None:
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            host = browser_host(browser)
            host.close_browser(host, 1)
        elif not state["closed"]:
            state["closed"] = True
            header.cef_quit_message_loop()

    def load(url: str, inject: str | None) -> None:  # load_url, on the UI thread
        if inject is not None:
            state["inject"] = cef_string_ctor(inject)  # kept for later pages, as chromium keeps its scripts
        browser = state["browser"]
        if browser is not None and not state["closed"]:
            frame = ctypes.cast(browser.get_main_frame(browser), ctypes.POINTER(struct.cef_frame_t)).contents
            frame.load_url(frame, cef_string_ctor(url))

    window_info = struct.cef_window_info_t()
    window_info.window_name = cef_string_ctor(default_title)
    window_info.bounds.x, window_info.bounds.y = 0, 0
    window_info.bounds.width, window_info.bounds.height = int(config["width"]), int(config["height"])
    window_info.runtime_style = header.CEF_RUNTIME_STYLE_ALLOY  # a bare window: no Chrome tab strip or toolbar
    browser_settings = size_ctor(struct.cef_browser_settings_t)
    if not header.cef_browser_host_create_browser(
        window_info, client, cef_string_ctor(config["url"]), browser_settings, None, None
    ):
        sys.stderr.write("cef_browser_host_create_browser() failed\n")
        sys.exit(4)
    channel.beat_from(post)
    channel.on_commands(lambda: post(close_window), lambda url, inject: post(lambda: load(url, inject)))
    header.cef_run_message_loop()
    header.cef_shutdown()


if __name__ == "__main__":
    main()
