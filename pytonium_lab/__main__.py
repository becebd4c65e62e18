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
    return 0


if __name__ == "__main__":
    sys.exit(main())
