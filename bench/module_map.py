"""Print the package's module map: files and lines, import edges, import cycles, the largest functions and classes.

    python bench/module_map.py [PACKAGE_DIR] [--top N] [--edges]

PACKAGE_DIR defaults to this checkout's pytonium_lab/. To compare with an older
commit: ``git archive <commit> pytonium_lab | tar -x -C /tmp/old`` and pass
/tmp/old/pytonium_lab. Imports inside functions (lazy ones) are counted apart
from module-level ones, and ``if TYPE_CHECKING:`` imports not at all; a cycle is
reported over module-level imports only.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom, known: set[str]) -> list[str]:
    """The package modules an ``from ... import ...`` names (a module, or names of a module)."""
    if node.level:
        base = current.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in known else target)
    return [m for m in found if m in known]


def scan(root: Path) -> tuple[dict[str, int], dict[str, set[str]], dict[str, set[str]], list[tuple[int, str]]]:
    files = sorted(p for p in root.rglob("*.py"))
    names = {module_name(p, root): p for p in files}
    known = set(names)
    lines: dict[str, int] = {}
    edges: dict[str, set[str]] = {m: set() for m in names}
    lazy: dict[str, set[str]] = {m: set() for m in names}
    sizes: list[tuple[int, str]] = []
    for name, path in names.items():
        source = path.read_text(encoding="utf-8")
        lines[name] = source.count("\n")
        tree = ast.parse(source)
        typing_only = {
            id(n)
            for block in tree.body
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }
        top = {id(n) for n in tree.body} | {
            id(n) for block in tree.body if isinstance(block, (ast.If, ast.Try)) for n in ast.walk(block)
        }
        top -= typing_only
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                targets = resolve(name, path.name == "__init__.py", node, known)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name in known]
            for target in targets:
                if target != name and id(node) not in typing_only:
                    (edges if id(node) in top else lazy)[name].add(target)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = "class" if isinstance(node, ast.ClassDef) else "def"
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                sizes.append((size, f"{kind} {name}.{node.name}"))
    for name, imports in edges.items():
        lazy[name] -= imports
    return lines, edges, lazy, sorted(sizes, reverse=True)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", nargs="?", default=str(Path(__file__).resolve().parents[1] / "pytonium_lab"))
    parser.add_argument("--top", type=int, default=12, help="how many of the largest functions and classes")
    parser.add_argument("--edges", action="store_true", help="list every module's imports")
    args = parser.parse_args()
    root = Path(args.package).resolve()
    lines, edges, lazy, sizes = scan(root)
    print(
        f"{len(lines)} modules, {sum(lines.values())} lines, "
        f"{sum(map(len, edges.values()))} module-level import edges, {sum(map(len, lazy.values()))} lazy"
    )
    print(f"{'module':42s} {'lines':>6s} {'imports':>7s} {'lazy':>5s} {'imported by':>11s}")
    for name in sorted(lines):
        users = sum(name in e for e in edges.values())
        print(f"{name:42s} {lines[name]:6d} {len(edges[name]):7d} {len(lazy[name]):5d} {users:11d}")
        if args.edges and (edges[name] or lazy[name]):
            short = lambda ms: ", ".join(sorted(m.rsplit(".", 1)[-1] for m in ms))  # noqa: E731
            print(f"    -> {short(edges[name])}" + (f"  (lazy: {short(lazy[name])})" if lazy[name] else ""))
    found = cycles(edges)
    print("import cycles (module level):", "none" if not found else "; ".join(" <-> ".join(c) for c in found))
    for kind in ("class", "def"):
        print(f"largest {'classes' if kind == 'class' else 'functions and methods'} (lines):")
        for size, what in [s for s in sizes if s[1].startswith(kind + " ")][: args.top]:
            print(f"  {size:5d}  {what.split(' ', 1)[1]}")


if __name__ == "__main__":
    main()
