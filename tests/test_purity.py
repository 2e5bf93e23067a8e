"""Every feature's core stays pure: no I/O modules, no clock reads, nothing outside itself.

A core (`src/sleepenv/*/core/`) may import its own modules and `sleepenv.rejection`, the
one shared value type; the same rules hold for that module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "sleepenv"
CORES = sorted(PACKAGE.glob("*/core"))
SHARED = {"sleepenv.rejection"}
FORBIDDEN_MODULES = {
    "asyncio",
    "socket",
    "subprocess",
    "os",
    "pathlib",
    "time",
    "threading",
    "sqlite3",
    "aiomqtt",
    "paho",
    "aiohttp",
    "urllib",
    "http",
    "io",
    "shutil",
    "logging",
    "random",
    "zoneinfo",
    "tempfile",
    "signal",
    "select",
    "selectors",
    "requests",
    "pydantic",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter", "time_ns"}
FORBIDDEN_CALLS = {"open", "print", "input"}


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _core_files() -> list[tuple[str, Path]]:
    """(the module prefix a file may import from, the file) for every core and the shared type."""
    files = [
        (f"sleepenv.{core.parent.name}.core", path) for core in CORES for path in core.glob("*.py")
    ]
    return [*files, ("sleepenv.rejection", PACKAGE / "rejection.py")]


def test_every_feature_has_its_core() -> None:
    assert [c.parent.name for c in CORES] == ["bed", "guidance", "insights"]
    bed = {p.name for p in (PACKAGE / "bed" / "core").glob("*.py")}
    assert {"model.py", "detector.py", "tracker.py", "night.py"} <= bed
    assert {"timeline.py", "guidance.py"} <= {
        p.name for p in (PACKAGE / "guidance" / "core").glob("*.py")
    }


def test_core_imports_no_io_and_nothing_outside_the_core() -> None:
    offenders = []
    for own, path in _core_files():
        for name in _imports(ast.parse(path.read_text())):
            root = name.split(".")[0]
            if root in FORBIDDEN_MODULES:
                offenders.append(f"{path}: imports {name}")
            inside = name == own or name.startswith(own + ".") or name in SHARED
            if root == "sleepenv" and not inside:
                offenders.append(f"{path}: imports {name} from outside its core")
    assert offenders == []


def test_core_reads_no_clock_and_does_no_io_calls() -> None:
    offenders = []
    for _, path in _core_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                offenders.append(f"{path}:{node.lineno}: .{func.attr}()")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                offenders.append(f"{path}:{node.lineno}: {func.id}()")
    assert offenders == []
