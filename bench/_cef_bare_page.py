"""Anchor for bench/desktop.py: a bare CEF 131 page through cef-capi-py, nothing of pytonium_lab.

    python bench/_cef_bare_page.py URL

CEF initialized as the ``cef`` engine's host does (no GPU, no sandbox, no
DevTools, a profile in the working folder), one Alloy browser on ``URL``, the
message loop. No heartbeat, no title, no handlers: the bench kills it.
"""

import os
import sys

from cef_capi import base_ctor, cef_string_ctor, header, size_ctor, struct
from cef_capi.app_client import app_ctor, settings_main_args_ctor


def main() -> None:
    app = app_ctor(disable_gpu=True)
    settings, main_args = settings_main_args_ctor()
    settings.no_sandbox = 1
    settings.log_severity = struct.LOGSEVERITY_DISABLE
    settings.root_cache_path = cef_string_ctor(os.path.join(os.getcwd(), "profile"))
    settings.remote_debugging_port = 0
    if not header.cef_initialize(main_args, settings, app, None):
        sys.exit("cef_initialize() failed")
    window_info = struct.cef_window_info_t()
    window_info.window_name = cef_string_ctor("bare")
    window_info.bounds.width, window_info.bounds.height = 400, 300
    window_info.runtime_style = header.CEF_RUNTIME_STYLE_ALLOY
    client = base_ctor(struct.cef_client_t)
    browser_settings = size_ctor(struct.cef_browser_settings_t)
    if not header.cef_browser_host_create_browser(
        window_info, client, cef_string_ctor(sys.argv[1]), browser_settings, None, None
    ):
        sys.exit("cef_browser_host_create_browser() failed")
    header.cef_run_message_loop()


if __name__ == "__main__":
    main()
