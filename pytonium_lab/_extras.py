"""Optional parts: the error that says which extra to install when one is missing.

A bare ``ModuleNotFoundError: No module named 'orjson'`` tells a user neither
what needed it nor what to do; :func:`missing_extra` names both. Use it around
the imports of the module that needs the extra::

    try:
        import orjson
    except ModuleNotFoundError as error:
        raise missing_extra(error, "shared", "StateStore.connect") from None
"""

from __future__ import annotations

__all__ = ["install_hint", "missing_extra"]


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, quoted for a shell."""
    return f"pip install 'pytonium_lab[{extra}]'"


def missing_extra(error: ModuleNotFoundError, extra: str, feature: str) -> ImportError:
    """An ``ImportError`` (not ``ModuleNotFoundError``) naming the missing module, what needed it and the fix."""
    return ImportError(
        f"{feature} needs the {extra!r} extra ({error.name!r} is not installed): {install_hint(extra)}",
        name=error.name,
    )
