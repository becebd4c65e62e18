"""The front end of the convergence test: real runtime + widget relay code in node.

``js/test/fuzz/views.ts`` is bundled with the project's esbuild and run by
node; this class sends it one command per line and gets back what the JS sent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "js"


def build_driver(out_dir: Path, source: str = "views.ts") -> Path:
    """Bundle the driver ``js/test/fuzz/<source>`` (fails loudly when node or the JS tool chain is missing)."""
    esbuild = JS / "node_modules" / ".bin" / "esbuild"
    if shutil.which("node") is None or not esbuild.exists():
        pytest.fail("node and js/node_modules are needed: run scripts/setup.sh")
    bundle = out_dir / (Path(source).stem + ".mjs")
    subprocess.run(
        [
            str(esbuild),
            str(JS / "test" / "fuzz" / source),
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        check=True,
    )
    return bundle


class JSViews:
    """A node process holding every model mirror and display of one test run."""

    def __init__(self, bundle: Path) -> None:
        self._proc = subprocess.Popen(
            ["node", str(bundle)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def call(self, op: str, **fields: Any) -> tuple[Any, list[dict[str, Any]]]:
        """Run one command; returns its result and the messages the JS sent meanwhile."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the JS driver died (exit {self._proc.poll()})")
        answer = json.loads(line)
        if answer["error"]:
            raise RuntimeError(f"JS {op} failed: {answer['error']}")
        return answer["result"], answer["out"]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(5)
