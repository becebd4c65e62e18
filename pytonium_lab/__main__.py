"""The pytonium-lab command line. Run a command with --help for its options."""

# The docstring is the --help description as it is: plain text, no markup.

from __future__ import annotations

import argparse
import sys

APP_HELP = """\
Run a notebook's code cells, top to bottom, in a real ipykernel subprocess (no
Jupyter server, no browser tab), on this Python and in the notebook's folder,
so the code behaves as in Jupyter: state handlers run on the kernel's main
thread, top-level await works, threads, persist() and StateStore.connect() work
as they do there.

Every StateWidget the notebook displays (display(widget), or the widget as a
cell's last line) opens as a desktop window the moment it is displayed, with
its page, its namespaces and the same store; cells may loop forever after it
(as in Jupyter, the page's writes reach your handlers between cells, while a
cell awaits, or in a loop that calls widget.update_message_loop()).
store.inspector() and Pytonium(...) windows open too. print() output goes to
this terminal. Other widgets (ipywidgets sliders, HTML, ...) are not shown: a
warning names each one. Other rich output (Out[n] values, images) is not shown.

The app ends when its last window closes: a cell still running gets a second
to end, then is interrupted, and the kernel shuts down cleanly (atexit hooks,
such as a persist() file's last write, run). Ctrl-C does the same. A cell that
raises stops the app: its traceback, then a line naming the cell (its number
among the code cells and its first line) and the exception.

Exit codes: 0 when the last window closed (or, if the notebook opened no
window, after its last cell), 1 when a cell raised or the kernel died, 2 for
bad arguments, 130 after Ctrl-C.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytonium-lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "setup-cef",
        help="create the Python 3.7 + cefpython3 66 runtime that backend='cefpython3' windows run on",
    )
    app = commands.add_parser(
        "app",
        help="run a notebook as a desktop app: its StateWidgets open as windows",
        description=APP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    app.add_argument("notebook", help="the .ipynb file to run")
    app.add_argument(
        "--width", type=int, default=None, help="width of each StateWidget's window in pixels (default: 800)"
    )
    app.add_argument(
        "--height",
        type=int,
        default=None,
        help="height of each StateWidget's window in pixels (default: the widget's height when given in "
        "pixels, e.g. height=190, else 600)",
    )
    app.add_argument(
        "--backend",
        default="auto",
        metavar="ENGINE",
        help="the window engine: auto (default: the best engine installed here), cef, chromium or "
        "cefpython3; the same names as Pytonium(backend=...)",
    )
    app.add_argument("-v", "--verbose", action="store_true", help="say on stderr when each window opens and closes")
    doctor = commands.add_parser(
        "doctor",
        help="show the versions, notebook hosts and desktop engines found here, with the fix for what is missing",
        description="Show what this install can do here: versions, notebook hosts, the built JS, "
        "the shared extra, every desktop engine (and the fix for those that cannot run), "
        "and with --redis whether that Redis answers. Exits 1 when the JS is missing or the Redis does not answer.",
    )
    doctor.add_argument("--redis", metavar="URL", help="a Redis URL to PING, e.g. redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from ._doctor import doctor as run_doctor

        return run_doctor(args.redis)
    if args.command == "setup-cef":
        from .desktop._cef_runtime import setup

        try:
            setup()
        except RuntimeError as exc:
            print(f"pytonium-lab setup-cef: {exc}", file=sys.stderr)
            return 1
    elif args.command == "app":
        from .desktop._app import run_app

        return run_app(args.notebook, width=args.width, height=args.height, backend=args.backend, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
