"""A page written in TypeScript type-checks (tsc --strict) against generate_typescript_definitions()'s .d.ts.

And a page that passes a wrong argument type, calls an unknown function or forgets
that a result is a Promise fails the check, naming the line.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pytonium_lab import StateStore
from pytonium_lab._calls import CallBinding

TSC = Path(__file__).resolve().parents[2] / "js" / "node_modules" / ".bin" / "tsc"

GOOD = """
async function main(): Promise<void> {
  const rows: { [key: string]: number }[] = await Pytonium.data.load("sales.csv", 10);
  const mean: number = await Pytonium.callFunction("analyse", "price");
  const again: number = await Pytonium.analyse("price", new AbortController().signal);
  await Pytonium.data.load("x.csv", null, Pytonium.callOptions({ timeout: 100 }));
  const tag: string = await Pytonium.data.version();
  Pytonium.appState.setState("demo", "rows", rows.length + mean + again + tag.length);
}
main();
"""

BAD = """
async function main(): Promise<void> {
  await Pytonium.data.load(42);
  await Pytonium.callFunction("nope");
  const n: number = Pytonium.analyse("price");
}
main();
"""


class Host(CallBinding):
    def __init__(self) -> None:
        self.store = StateStore()


def bound_host() -> Host:
    def load(path: str, limit: int | None = None) -> list[dict[str, float]]:
        return []

    def version():  # no annotation: the decorator names the type
        return "1"

    from pytonium_lab import returns_value_to_javascript

    async def analyse(column: str) -> float:
        return 1.0

    host = Host()
    host.bind_functions_to_javascript([load, returns_value_to_javascript(str)(version)], javascript_object="data")
    host.bind_function_to_javascript(analyse)
    return host


def tsc(folder: Path, page: str) -> subprocess.CompletedProcess[str]:
    if not TSC.exists() or shutil.which("node") is None:
        pytest.fail("node and js/node_modules are needed for the TypeScript check: run scripts/setup.sh")
    (folder / "page.ts").write_text(page)
    args = [str(TSC), "--noEmit", "--strict", "--target", "es2017", "--lib", "es2017,dom", "pytonium.d.ts", "page.ts"]
    return subprocess.run(args, check=False, cwd=folder, capture_output=True, text=True, timeout=120)


def test_a_typescript_page_checks_against_the_generated_definitions(tmp_path):
    bound_host().generate_typescript_definitions(tmp_path / "pytonium.d.ts")
    good = tsc(tmp_path, GOOD)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tsc(tmp_path, BAD)
    errors = [line for line in bad.stdout.splitlines() if "error TS" in line]
    assert [line.split("(")[1].split(",")[0] for line in errors] == ["3", "4", "5"], bad.stdout
