"""The pytonium-lab command line. Run a command with --help for its options."""

# The docstring is the --help description as it is: plain text, no markup.

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytonium-lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "setup-cef",
        help="create the Python 3.7 + cefpython3 66 runtime that CEF desktop windows run on",
    )
    args = parser.parse_args(argv)
    if args.command == "setup-cef":
        from .desktop._cef_runtime import setup

        try:
            setup()
        except RuntimeError as exc:
            print(f"pytonium-lab setup-cef: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
