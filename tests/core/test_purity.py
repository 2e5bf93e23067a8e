"""The core stays pure: no I/O modules, no clock reads, nothing outside sleepenv.core."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).parents[2] / "src" / "sleepenv" / "core"
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


def test_core_modules_exist() -> None:
    assert {"model.py", "detector.py", "bed.py", "night.py"} <= {p.name for p in CORE.glob("*.py")}


def test_core_imports_no_io_and_nothing_outside_the_core() -> None:
    offenders = []
    for path in CORE.glob("*.py"):
        for name in _imports(ast.parse(path.read_text())):
            root = name.split(".")[0]
            if root in FORBIDDEN_MODULES:
                offenders.append(f"{path.name}: imports {name}")
            if root == "sleepenv" and not name.startswith("sleepenv.core"):
                offenders.append(f"{path.name}: imports {name} from outside the core")
    assert offenders == []


def test_core_reads_no_clock_and_does_no_io_calls() -> None:
    offenders = []
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                offenders.append(f"{path.name}:{node.lineno}: .{func.attr}()")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                offenders.append(f"{path.name}:{node.lineno}: {func.id}()")
    assert offenders == []
