"""The package's modules import one another without a cycle, and in layers.

Only imports that run when a module loads count: those at module level (and in a
module-level `try`), not those inside functions nor under `if TYPE_CHECKING:`. A cycle there
makes import order matter and is what forced lazy imports that buy nothing else.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "sleepenv"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _load_time_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _load_time_imports(block)
    return found


def _resolve(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports when it loads."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        targets = {
            target
            for node in _load_time_imports(tree.body)
            for target in _resolve(node, name, is_package)
        }
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def test_the_graph_sees_the_command_line() -> None:
    graph = import_graph()
    assert "sleepenv.cli.common" in graph["sleepenv.cli.main"]
    assert "sleepenv.cli.common" in graph["sleepenv.cli.guidance"]


def test_no_import_cycle_among_the_modules() -> None:
    try:
        order = list(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
    assert "sleepenv.cli.main" in order


# Entry points sit on top: they wire and run the features and nothing imports them.
ENTRY_POINTS = ("sleepenv.cli", "sleepenv.service", "sleepenv.bootstrap", "sleepenv.demo")
ENTRY_POINTS_TOO = ("sleepenv.addon", "sleepenv.__main__")
# The features: neither imports the other.
FEATURES = ("sleepenv.bed", "sleepenv.guidance")
# Shared layers below the features: they know no feature and no entry point.
SHARED = ("sleepenv.mqtt", "sleepenv.clock", "sleepenv.rejection", "sleepenv.tasks")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _all_imports() -> dict[str, set[str]]:
    """Like import_graph, but counting imports inside functions too (a contract holds for
    every import, not only those that run at load time)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        targets = {t for node in nodes for t in _resolve(node, name, is_package)}
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def test_the_contract_sees_every_layer() -> None:
    graph = _all_imports()
    for package in (*FEATURES, *SHARED, "sleepenv.config", "sleepenv.cli", "sleepenv.service"):
        assert any(_within(m, (package,)) for m in graph), package


def test_nothing_below_the_entry_points_imports_them() -> None:
    offenders = [
        f"{module} imports {target}"
        for module, targets in _all_imports().items()
        if not _within(module, ENTRY_POINTS + ENTRY_POINTS_TOO)
        for target in targets
        if _within(target, ENTRY_POINTS + ENTRY_POINTS_TOO)
    ]
    assert offenders == []


def test_bed_and_guidance_do_not_import_each_other() -> None:
    bed, guidance = FEATURES
    offenders = [
        f"{module} imports {target}"
        for module, targets in _all_imports().items()
        for target in targets
        if (_within(module, (bed,)) and _within(target, (guidance,)))
        or (_within(module, (guidance,)) and _within(target, (bed,)))
    ]
    assert offenders == []


def test_shared_layers_know_no_feature() -> None:
    offenders = [
        f"{module} imports {target}"
        for module, targets in _all_imports().items()
        if _within(module, SHARED)
        for target in targets
        if _within(target, (*FEATURES, "sleepenv.report"))
    ]
    assert offenders == []
