"""How a store shows itself in a notebook: an HTML table and IPython's pretty text.

One row per key: namespace, key, value (as shortened JSON), and the origin and
revision of the key's last write, read from the kept history (``_history``)
when someone looks, so ``set_state`` records nothing extra for the table. A key
whose last write is older than the kept history (every key, with
``StateStore(history=0)``) shows its value only.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._history import Record

__all__ = ["MAX_ROWS", "MAX_VALUE", "html_table", "short_json", "text_table"]

MAX_ROWS = 200
"""Keys shown by a store's HTML table or pretty text; the rest are counted."""

MAX_VALUE = 80
"""Characters of a value's JSON shown before it is cut with an ellipsis."""

State = Mapping[str, Mapping[str, Any]]
Row = tuple[str, str, Any, "tuple[str, int] | None"]
"""(namespace, key, value, (origin, revision) of the last write, or None when the history does not reach it)."""


def short_json(value: Any, limit: int = MAX_VALUE, separators: tuple[str, str] = (", ", ": ")) -> str:
    """A value's JSON text, cut to ``limit`` characters with an ellipsis."""
    text = json.dumps(value, ensure_ascii=False, separators=separators)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def rows(state: State, kept: Sequence[Record]) -> tuple[list[Row], int]:
    """The first ``MAX_ROWS`` keys with their last write (newest kept change of each), and how many keys there are."""
    shown = [(ns, key) for ns, keys in state.items() for key in keys][:MAX_ROWS]
    wanted = set(shown)
    last: dict[tuple[str, str], tuple[str, int]] = {}
    if wanted:
        for change, _, _ in reversed(kept):
            where = (change[0], change[1])
            if where in wanted and where not in last:
                last[where] = (change[4], change[5])
                if len(last) == len(wanted):
                    break
    out = [(ns, key, state[ns][key], last.get((ns, key))) for ns, key in shown]
    return out, sum(len(keys) for keys in state.values())


def html_table(state: State, kept: Sequence[Record], revision: int) -> str:
    """The store as a notebook shows it: one row per key, values as escaped, shortened JSON."""
    shown, total = rows(state, kept)
    esc = html.escape
    head = f"StateStore: revision {revision}, {total} key{'' if total == 1 else 's'}, {len(kept)} change(s) kept"
    parts = [
        '<table class="pytonium-store">',
        f'<caption style="text-align:left">{esc(head)}</caption>',
        "<thead><tr><th>namespace</th><th>key</th><th>value</th><th>origin</th><th>revision</th></tr></thead>",
        "<tbody>",
    ]
    for ns, key, value, last in shown:
        origin, rev = ("", "") if last is None else (esc(last[0]), str(last[1]))
        parts.append(
            f"<tr><td>{esc(ns)}</td><td>{esc(key)}</td>"
            f'<td style="text-align:left"><code>{esc(short_json(value))}</code></td>'
            f"<td>{origin}</td><td>{rev}</td></tr>"
        )
    if total > len(shown):
        parts.append(f'<tr><td colspan="5">\u2026 and {total - len(shown)} more keys</td></tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


def text_table(state: State, kept: Sequence[Record], revision: int) -> str:
    """The store as IPython's text view shows it: ``namespace.key = value  (origin, rN)`` per line."""
    shown, total = rows(state, kept)
    lines = [f"StateStore revision={revision}, {total} key{'' if total == 1 else 's'}"]
    for ns, key, value, last in shown:
        where = "" if last is None else f"  ({last[0]}, r{last[1]})"
        lines.append(f"  {ns}.{key} = {short_json(value)}{where}")
    if total > len(shown):
        lines.append(f"  \u2026 and {total - len(shown)} more keys")
    return "\n".join(lines)
