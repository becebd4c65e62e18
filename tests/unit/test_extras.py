"""A missing optional part fails with an ImportError naming the extra to install.

Each case runs in a fresh interpreter whose imports of the extra's modules are
blocked (a ``sys.meta_path`` finder), as on a machine without them installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

BLOCKER = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocked())
"""


def run_without(blocked: set[str], code: str) -> str:
    """Run ``code`` in a fresh interpreter where ``blocked`` cannot be imported; its stdout."""
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


CONNECT = """
import pytonium_lab
store = pytonium_lab.StateStore()  # the core needs no extra
store.set_state("a", "b", 1)
try:
    pytonium_lab.StateStore.connect("redis://127.0.0.1:1/0", "lab")
except Exception as error:
    print(type(error).__name__, "|", error, "|", error.name)
"""


@pytest.mark.parametrize(
    ("blocked", "missing"), [({"orjson"}, "orjson"), ({"redis"}, "redis"), ({"redis", "orjson"}, "orjson")]
)
def test_connect_without_the_shared_extra_names_it(blocked: set[str], missing: str) -> None:
    out = run_without(blocked, CONNECT)
    kind, message, name = (part.strip() for part in out.split("|"))
    assert kind == "ImportError"  # not a bare ModuleNotFoundError
    assert name == missing
    assert f"'{missing}' is not installed" in message
    assert "StateStore.connect" in message
    assert "pip install 'pytonium_lab[shared]'" in message
